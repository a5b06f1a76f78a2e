"""Makes cosignature-v1.json with aics-tlog 0.2.1 (PyPI, Apache-2.0), an implementation of
c2sp.org/tlog-cosignature independent of Veritrial's. Run with aics-tlog and cryptography
installed (aics-tlog declares Python >= 3.12; its cosign/note modules run on 3.11):

    python3 gen_cosignature_vectors.py > cosignature-v1.json
"""

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aics_tlog.cosign import cosignature_vkey, sign_cosignature
from aics_tlog.note import Note, format_vkey

CASES = [
    # The checkpoint and the timestamp of the C2SP tlog-cosignature example.
    ("witness.example.com/w1", "11" * 32, 1679315147, "example.com/behind-the-sofa",
     20852163, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", []),
    # A Veritrial checkpoint: one `time <ms>` extension line, covered by the cosignature.
    ("witness.veritrial.test/ethics-board", "a5" * 32, 1764090000, "veritrial.test/ledger",
     42, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", ["time 1764089999123"]),
]

vectors = []
for name, seed_hex, timestamp, origin, size, root_b64, extensions in CASES:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    root = base64.b64decode(root_b64)
    _, line = sign_cosignature(key, name, timestamp, origin, size, root, extensions)
    body = "".join(f"{l}\n" for l in [origin, str(size), root_b64, *extensions])
    note = Note(text=body, signatures=(line,)).serialise()
    vectors.append({
        "name": name,
        "seedHex": seed_hex,
        "verifierKey": format_vkey(cosignature_vkey(name, key.public_key())),
        "timestamp": timestamp,
        "checkpointBody": body,
        "signatureLine": note[len(body) + 1:],
    })
print(json.dumps({"source": "aics-tlog 0.2.1 (PyPI), aics_tlog.cosign", "vectors": vectors}, indent=2))
