// Uploading an attachment to a submission, with a progress bar.

import { upload } from './api.js';
import { field, form, h, status } from './dom.js';

/** A card to attach a file to one of `submissions` (latest versions). */
export function attachmentCard(submissions) {
  const target = h('select', { name: 'submission' }, submissions.map((s) => h('option', { value: s.id }, `${s.form} · ${s.visit}`)));
  const file = h('input', { type: 'file', name: 'file', id: 'attachment-file', required: true });
  const bar = h('progress', { max: 1, value: 0, id: 'upload-progress', 'aria-label': 'Upload progress' });
  const message = status('upload-message');
  return form(
    { class: 'card', id: 'attachment-form' },
    message,
    async () => {
      const chosen = file.files[0];
      const path = `/attachments?submissionId=${encodeURIComponent(target.value)}&fileName=${encodeURIComponent(chosen.name)}`;
      bar.value = 0;
      message.show(`Uploading ${chosen.name}…`);
      const stored = await upload(path, chosen, (share) => {
        bar.value = share;
      });
      bar.value = 1;
      message.show(`Stored ${stored.sizeBytes} bytes, SHA-256 ${stored.sha256} (ledger entry #${stored.ledgerSeq}).`, 'ok');
    },
    h('h3', {}, 'Attach a file'),
    h('p', { class: 'hint' }, 'Only the file’s SHA-256 goes on the ledger.'),
    field('Record', target),
    field('File', file),
    bar,
    h('button', { type: 'submit' }, 'Upload'),
    message,
  );
}
