"""The lab's certificate authority: a CA and the certificates the lab's parts present over TLS,
made with ``cryptography`` in a work directory (nothing here is fit for production: the keys
sit unencrypted next to the certificates).

    ca = LabCa(workdir / "tls")          # creates ca.pem / ca.key once, reuses them after
    cert, key = ca.issue("kamailio")     # kamailio.pem / kamailio.key for 127.0.0.1, localhost
"""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 365


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hardphone lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key) -> None:
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


class LabCa:
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.cafile = self.dir / "ca.pem"
        self._keyfile = self.dir / "ca.key"
        if not (self.cafile.exists() and self._keyfile.exists()) or self._expired():
            self._create()
        self._key = serialization.load_pem_private_key(self._keyfile.read_bytes(), None)
        self._cert = x509.load_pem_x509_certificate(self.cafile.read_bytes())

    def _expired(self) -> bool:
        cert = x509.load_pem_x509_certificate(self.cafile.read_bytes())
        return cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC)

    def _create(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(_name("hardphone lab CA")).issuer_name(_name("hardphone lab CA"))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        _write_key(self._keyfile, key)
        self.cafile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
              ) -> tuple[Path, Path]:
        """A certificate for ``hosts`` (IP addresses and DNS names), signed by the CA, good for
        a TLS server and client alike: (``<name>.pem``, ``<name>.key``) in the CA's directory."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(_name(hosts[0])).issuer_name(self._cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self._key.public_key()), critical=False)
                .sign(self._key, hashes.SHA256()))
        certfile, keyfile = self.dir / f"{name}.pem", self.dir / f"{name}.key"
        _write_key(keyfile, key)
        certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return certfile, keyfile
