//! Sign-in, the caller's own account, and organisation/user administration.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{ApiResult, parts};
use crate::auth::throttle::ClientAddr;
use crate::domain::{OrgKind, Role, from_stored};
use crate::entities::{organization, user};
use crate::error::AppError;
use crate::services::accounts;

/// An organisation taking part in trials.
#[derive(SimpleObject)]
pub struct Organization {
    id: ID,
    name: String,
    kind: OrgKind,
    created_at: DateTime<Utc>,
}

impl TryFrom<organization::Model> for Organization {
    type Error = AppError;

    fn try_from(m: organization::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: m.id.into(),
            name: m.name,
            kind: from_stored(&m.kind)?,
            created_at: m.created_at,
        })
    }
}

/// A person who signs in.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct User {
    id: ID,
    email: String,
    /// The person's name, as printed on their electronic signatures and in audit trails.
    display_name: String,
    role: Role,
    #[graphql(skip)]
    org_id: String,
    created_at: DateTime<Utc>,
    /// Whether the user may sign in; an inactive user's tokens are refused.
    active: bool,
}

#[ComplexObject]
impl User {
    /// The organisation the user belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> ApiResult<Organization> {
        let (state, _) = parts(ctx);
        Ok(accounts::organization(&state.db, &self.org_id)
            .await?
            .try_into()?)
    }
}

impl TryFrom<user::Model> for User {
    type Error = AppError;

    fn try_from(m: user::Model) -> Result<Self, AppError> {
        Ok(Self {
            id: m.id.into(),
            email: m.email,
            display_name: m.display_name,
            role: from_stored(&m.role)?,
            org_id: m.org_id,
            created_at: m.created_at,
            active: m.active,
        })
    }
}

/// A signed token and who it belongs to.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send it as `Authorization: Bearer <token>`.
    token: String,
    /// When the token stops being accepted.
    expires_at: DateTime<Utc>,
    /// The signed-in user.
    user: User,
}

/// A new user, created by an admin.
#[derive(InputObject)]
pub struct CreateUserInput {
    email: String,
    /// The person's name, as printed on their electronic signatures and in audit trails.
    display_name: String,
    /// Name of an existing organisation.
    organization: String,
    role: Role,
    /// At least ten characters; stored only as an Argon2id hash.
    password: String,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let (state, caller) = parts(ctx);
        let principal = caller.principal()?;
        Ok(accounts::user(&state.db, &principal.user_id)
            .await?
            .try_into()?)
    }

    /// Every organisation (admins only).
    async fn organizations(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organization>> {
        let (state, caller) = parts(ctx);
        caller.require(&[Role::Admin])?;
        let orgs = accounts::organizations(&state.db).await?;
        Ok(orgs
            .into_iter()
            .map(Organization::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// The sites and ethics boards a sponsor may name in a protocol (sponsors and admins):
    /// name, kind and id, nothing about patients.
    async fn directory(&self, ctx: &Context<'_>) -> ApiResult<Vec<Organization>> {
        let (state, caller) = parts(ctx);
        caller.require(&[Role::Sponsor, Role::Admin])?;
        let orgs = accounts::directory(&state.db, &[OrgKind::Site, OrgKind::Ethics]).await?;
        Ok(orgs
            .into_iter()
            .map(Organization::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// The users of an organisation (admins only).
    async fn users(&self, ctx: &Context<'_>, organization_id: ID) -> ApiResult<Vec<User>> {
        let (state, caller) = parts(ctx);
        caller.require(&[Role::Admin])?;
        let users = accounts::users_of(&state.db, &organization_id).await?;
        Ok(users
            .into_iter()
            .map(User::try_from)
            .collect::<Result<_, _>>()?)
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Signs in with an email and password; returns a token to send as a bearer token.
    /// Attempts are rate-limited per client address and per email (`RATE_LIMITED`), and
    /// repeated failures lock the email out for a while.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> ApiResult<LoginPayload> {
        let (state, _) = parts(ctx);
        let client = ctx.data_opt::<ClientAddr>().copied();
        let session = accounts::login(state, client, &email, &password).await?;
        Ok(LoginPayload {
            token: session.token,
            expires_at: session.expires_at,
            user: session.user.try_into()?,
        })
    }

    /// Creates an organisation (admins only).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        name: String,
        kind: OrgKind,
    ) -> ApiResult<Organization> {
        let (state, caller) = parts(ctx);
        caller.require(&[Role::Admin])?;
        Ok(accounts::create_organization(&state.db, &name, kind)
            .await?
            .try_into()?)
    }

    /// Creates a user in an existing organisation (admins only).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<User> {
        let (state, caller) = parts(ctx);
        caller.require(&[Role::Admin])?;
        let new = accounts::NewUser {
            email: &input.email,
            display_name: &input.display_name,
            org_name: &input.organization,
            role: input.role,
            password: &input.password,
        };
        Ok(accounts::create_user(&state.db, new).await?.try_into()?)
    }

    /// Signs out: the token used for this request stops being accepted.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let (state, caller) = parts(ctx);
        accounts::logout(&state.db, caller.session_id()?).await?;
        Ok(true)
    }

    /// Lifts a lockout after repeated failed sign-ins (admins only).
    async fn unlock_user(&self, ctx: &Context<'_>, user_id: ID) -> ApiResult<User> {
        let (state, caller) = parts(ctx);
        caller.require(&[Role::Admin])?;
        Ok(accounts::unlock(&state.db, &user_id).await?.try_into()?)
    }

    /// Deactivates a user: they cannot sign in and their tokens are refused from the next
    /// request on (admins only; not oneself).
    async fn deactivate_user(&self, ctx: &Context<'_>, user_id: ID) -> ApiResult<User> {
        let (state, caller) = parts(ctx);
        let admin = caller.require(&[Role::Admin])?;
        Ok(
            accounts::set_active(&state.db, Some(admin.user_id.as_str()), &user_id, false)
                .await?
                .try_into()?,
        )
    }

    /// Lets a deactivated user sign in again (admins only).
    async fn activate_user(&self, ctx: &Context<'_>, user_id: ID) -> ApiResult<User> {
        let (state, caller) = parts(ctx);
        let admin = caller.require(&[Role::Admin])?;
        Ok(
            accounts::set_active(&state.db, Some(admin.user_id.as_str()), &user_id, true)
                .await?
                .try_into()?,
        )
    }

    /// Changes a user's role; it must fit their organisation's kind. Their tokens are
    /// refused from the next request on, and the new role applies from their next sign-in
    /// (admins only; not oneself).
    async fn set_user_role(&self, ctx: &Context<'_>, user_id: ID, role: Role) -> ApiResult<User> {
        let (state, caller) = parts(ctx);
        let admin = caller.require(&[Role::Admin])?;
        Ok(
            accounts::set_role(&state.db, Some(admin.user_id.as_str()), &user_id, role)
                .await?
                .try_into()?,
        )
    }
}
