"""Asymmetric key material made when it is first used, not for every key.

moto 5.x generates an RSA-2048 private key inside every CreateKey, symmetric and HMAC keys
included (its fallback branch), although AWS gives those keys no key pair. RSA generation
takes 20-150 ms, so it was most of each CreateKey's time and of the spread in the Create
benchmark. Keys with an RSA or ECC spec still get their pair, on the first Sign, Verify or
GetPublicKey, exactly as moto would have made it.
"""

from typing import Any

import moto.kms.models as kms_models
from moto.kms.utils import generate_private_key


class _PairOnFirstUse:
    def __init__(self, key_spec: str) -> None:
        self._key_spec = key_spec
        self._pair: Any = None

    def __getattr__(self, name: str) -> Any:
        # copy/pickle probe dunders; answering them must not generate a key.
        if name.startswith("__"):
            raise AttributeError(name)
        if self._pair is None:
            self._pair = generate_private_key(self._key_spec)
        return getattr(self._pair, name)


def install() -> None:
    kms_models.generate_private_key = _PairOnFirstUse
