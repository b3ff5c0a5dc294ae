#!/usr/bin/env python3
"""Build and sign a Groundwork transfer (or credit mint) with nothing but the Python 3 standard library.

This is the independent check that docs/protocol.md is enough to build a transaction: the
protobuf encoding, ed25519 (RFC 8032), addresses (bech32m) and hashes below are written from
that page, with no Groundwork code and no third-party package.

    python3 docs/examples/build_tx.py             # the page's test vector; checks it and exits 1 on a mismatch
    python3 docs/examples/build_tx.py --seed 0707...07 --to gw1... --amount 5 --nonce 3 --fee 1000
    python3 docs/examples/build_tx.py --kind mint-credits --amount 100000000 [--to gw1...]   # §16

It prints one `name: value` line per intermediate value (hex unless noted), then the JSON body
to POST to /v1/txs. The arithmetic is the plain reference kind: it is not constant-time, so use it
to learn and to test, not to guard real keys.
"""

import argparse
import hashlib
import json
import sys

# --- ed25519 (RFC 8032, section 5.1) ---------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # order of the base point
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)  # a square root of -1 mod p


def recover_x(y, sign):
    """The x coordinate of the point with this y and x parity (RFC 8032, 5.1.3)."""
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        raise ValueError("not a curve point")
    if x & 1 != sign:
        x = P - x
    return x


BASE_Y = 4 * pow(5, P - 2, P) % P
BASE = (recover_x(BASE_Y, 0), BASE_Y, 1, recover_x(BASE_Y, 0) * BASE_Y % P)  # extended (X, Y, Z, T)
IDENTITY = (0, 1, 1, 0)


def point_add(p1, p2):
    """Addition in extended twisted-Edwards coordinates (RFC 8032, 5.1.4)."""
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def scalar_mult(k, point):
    result = IDENTITY
    while k > 0:
        if k & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        k >>= 1
    return result


def encode_point(point):
    x, y, z, _ = point
    z_inv = pow(z, P - 2, P)
    x, y = x * z_inv % P, y * z_inv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def decode_point(data):
    value = int.from_bytes(data, "little")
    y, sign = value & ((1 << 255) - 1), value >> 255
    if y >= P:
        raise ValueError("not a canonical point encoding")
    x = recover_x(y, sign)
    return (x, y, 1, x * y % P)


def sha512_int(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")


def secret_scalar_and_prefix(seed):
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8  # clear the 3 low bits and bit 255 ...
    scalar |= 1 << 254  # ... and set bit 254
    return scalar, digest[32:]


def public_key(seed):
    scalar, _ = secret_scalar_and_prefix(seed)
    return encode_point(scalar_mult(scalar, BASE))


def sign(seed, message):
    scalar, prefix = secret_scalar_and_prefix(seed)
    public = encode_point(scalar_mult(scalar, BASE))
    r = sha512_int(prefix, message) % L
    r_encoded = encode_point(scalar_mult(r, BASE))
    k = sha512_int(r_encoded, public, message) % L
    s = (r + k * scalar) % L
    return r_encoded + s.to_bytes(32, "little")


def verify(public, message, signature):
    """Cofactorless check [s]B == R + [k]A, with s < L (what a node's strict check also needs)."""
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    r_point, a_point = decode_point(signature[:32]), decode_point(public)
    k = sha512_int(signature[:32], public, message) % L
    return encode_point(scalar_mult(s, BASE)) == encode_point(point_add(r_point, scalar_mult(k, a_point)))


# --- addresses: SHA-256(type byte || key)[0..20], bech32m with hrp "gw" (BIP-350) --------------

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3
ED25519_KEY_TYPE = 0x01


def bech32_polymod(values):
    generators = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= generators[i] if (top >> i) & 1 else 0
    return checksum


def hrp_expand(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def to_5bit(data):
    acc, bits, out = 0, 0, []
    for byte in data:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def from_5bit(values):
    acc, bits, out = 0, 0, []
    for value in values:
        acc, bits = (acc << 5) | value, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        raise ValueError("invalid padding")
    return bytes(out)


def address_bytes(ed25519_public_key):
    return hashlib.sha256(bytes([ED25519_KEY_TYPE]) + ed25519_public_key).digest()[:20]


def address_text(address, hrp="gw"):
    data = to_5bit(address)
    polymod = bech32_polymod(hrp_expand(hrp) + data + [0] * 6) ^ BECH32M_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[v] for v in data + checksum)


def parse_address(text, hrp="gw"):
    text = text.strip()
    if text.lower() != text:
        raise ValueError("addresses are lower case")
    separator = text.rfind("1")
    if text[:separator] != hrp:
        raise ValueError(f"an address starts with {hrp}1")
    values = [CHARSET.index(c) for c in text[separator + 1 :]]
    if bech32_polymod(hrp_expand(hrp) + values) != BECH32M_CONST:
        raise ValueError("bad bech32m checksum")
    address = from_5bit(values[:-6])
    if len(address) != 20:
        raise ValueError("an address holds 20 bytes")
    return address


# --- protobuf, by hand: key = (field number << 3) | wire type; proto3 omits default values -----

VARINT, LENGTH_DELIMITED = 0, 2


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3 | VARINT) + varint(value) if value else b""


def field_bytes(number, value):
    return varint(number << 3 | LENGTH_DELIMITED) + varint(len(value)) + value if value else b""


def field_message(number, encoded):
    # An embedded message field is written even when its encoding is empty (it is "set").
    return varint(number << 3 | LENGTH_DELIMITED) + varint(len(encoded)) + encoded


def encode_transfer(to, amount):  # groundwork.v1.Transfer
    return field_bytes(1, to) + field_bytes(2, str(amount).encode())


def encode_transfer_message(to, amount):  # groundwork.v1.Message, oneof kind = transfer (1)
    return field_message(1, encode_transfer(to, amount))


def encode_mint_credits(amount, beneficiary, min_credits):  # groundwork.v1.MintCredits
    return field_bytes(1, str(amount).encode()) + field_bytes(2, beneficiary) + field_varint(3, min_credits)


def encode_mint_credits_message(amount, beneficiary, min_credits):  # oneof kind = mint_credits (11)
    return field_message(11, encode_mint_credits(amount, beneficiary, min_credits))


def encode_body(chain_id, nonce, fee, messages, memo):  # groundwork.v1.TxBody
    out = field_bytes(1, chain_id.encode()) + field_varint(2, nonce) + field_bytes(3, str(fee).encode())
    for message in messages:
        out += field_message(4, message)
    return out + field_bytes(5, memo.encode())


def encode_envelope(body, ed25519_public_key, signature):  # groundwork.v1.TxEnvelope
    signer = field_bytes(1, ed25519_public_key)  # groundwork.v1.PublicKey, oneof key = ed25519 (1)
    return field_bytes(1, body) + field_message(2, signer) + field_bytes(3, signature)


TX_DOMAIN = b"groundwork/v1/tx"


def signed_message(chain_id, body):
    chain = chain_id.encode()
    return TX_DOMAIN + bytes([len(chain)]) + chain + body


# --- the test vector of docs/protocol.md ---------------------------------------------------

VECTOR_ENVELOPE = (
    "0a3f0a1167726f756e64776f726b2d6465766e65741a043130303022240a220a14b7aad8bfb5dfa91211a3e3"
    "f1be1a65bce503a7c4120a3132353030303030303012220a208a88e3dd7409f195fd52db2d3cba5d72ca6709"
    "bf1d94121bf3748801b40f6f5c1a40f28707d5891510082aa70f63d58b01777c2cfd8cbc34742b5d44cec63c"
    "9a10a7da28dbd06151bcd76f110c9a08fcec544cd492c7898449356f8f0666c8c4270e"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="01" * 32, help="32-byte ed25519 secret seed, hex")
    parser.add_argument("--chain-id", default="groundwork-devnet")
    parser.add_argument("--nonce", type=int, default=0)
    parser.add_argument("--fee", type=int, default=1000, help="base units")
    parser.add_argument("--to", help="recipient gw1… address (default: the address of seed 0x02…02)")
    parser.add_argument("--amount", type=int, default=1250000000, help="base units")
    parser.add_argument("--memo", default="")
    parser.add_argument("--kind", choices=["transfer", "mint-credits"], default="transfer",
                        help="mint-credits burns --amount for credits to --to (default: the signer)")
    parser.add_argument("--min-credits", type=int, default=0, help="mint-credits: fewest credits accepted")
    args = parser.parse_args()

    seed = bytes.fromhex(args.seed)
    if len(seed) != 32:
        parser.error("the seed has 32 bytes (64 hex characters)")
    if args.amount <= 0 or args.fee < 0 or args.nonce < 0:
        parser.error("the amount is above zero; the fee and nonce are not negative")
    public = public_key(seed)
    if args.kind == "mint-credits":
        recipient = parse_address(args.to) if args.to else address_bytes(public)
        beneficiary = parse_address(args.to) if args.to else b""
        message = encode_mint_credits_message(args.amount, beneficiary, args.min_credits)
    else:
        recipient = parse_address(args.to) if args.to else address_bytes(public_key(bytes([2] * 32)))
        message = encode_transfer_message(recipient, args.amount)
    body = encode_body(args.chain_id, args.nonce, args.fee, [message], args.memo)
    message = signed_message(args.chain_id, body)
    signature = sign(seed, message)
    if not verify(public, message, signature):
        sys.exit("internal error: the signature does not verify")
    envelope = encode_envelope(body, public, signature)

    print(f"public_key: {public.hex()}")
    print(f"sender: {address_text(address_bytes(public))}")
    print(f"recipient: {address_text(recipient)}")
    print(f"body: {body.hex()}")
    print(f"signed_message: {message.hex()}")
    print(f"signature: {signature.hex()}")
    print(f"envelope: {envelope.hex()}")
    print(f"tx_hash: {hashlib.sha256(envelope).hexdigest()}")
    print(f"json: {json.dumps({'tx': envelope.hex()})}")

    is_vector = sys.argv[1:] == []
    if is_vector:
        if envelope.hex() != VECTOR_ENVELOPE:
            print("MISMATCH: the envelope differs from the test vector in docs/protocol.md", file=sys.stderr)
            return 1
        print("vector: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
