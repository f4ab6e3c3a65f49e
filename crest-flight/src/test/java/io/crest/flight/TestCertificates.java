package io.crest.flight;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made at test time, written as PEM files: a certificate authority, a server
 * certificate for {@code 127.0.0.1} and {@code localhost}, and a client certificate, all signed by
 * the authority. EC P-256 keys, so that generating them takes milliseconds.
 */
final class TestCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  final Path caCertificate;
  final Path serverCertificate;
  final Path serverKey;
  final Path clientCertificate;
  final Path clientKey;

  private TestCertificates(Path dir, String prefix) throws Exception {
    KeyPair caKeys = newKeyPair();
    X500Name caName = new X500Name("CN=" + prefix + " Test CA");
    X509Certificate ca = sign(caName, caKeys, caName, caKeys.getPublic(), true, null);
    KeyPair serverKeys = newKeyPair();
    X509Certificate server = sign(caName, caKeys, new X500Name("CN=localhost"),
        serverKeys.getPublic(), false,
        new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
            new GeneralName(GeneralName.dNSName, "localhost")}));
    KeyPair clientKeys = newKeyPair();
    X509Certificate client = sign(caName, caKeys, new X500Name("CN=crest-client"),
        clientKeys.getPublic(), false, null);
    caCertificate = write(dir.resolve(prefix + "-ca.pem"), "CERTIFICATE", ca.getEncoded());
    serverCertificate =
        write(dir.resolve(prefix + "-server.pem"), "CERTIFICATE", server.getEncoded());
    serverKey = write(dir.resolve(prefix + "-server-key.pem"), "PRIVATE KEY",
        serverKeys.getPrivate().getEncoded());
    clientCertificate =
        write(dir.resolve(prefix + "-client.pem"), "CERTIFICATE", client.getEncoded());
    clientKey = write(dir.resolve(prefix + "-client-key.pem"), "PRIVATE KEY",
        clientKeys.getPrivate().getEncoded());
  }

  /** Makes a fresh authority and its certificates, in files named after {@code prefix}. */
  static TestCertificates generate(Path dir, String prefix) throws Exception {
    return new TestCertificates(dir, prefix);
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static X509Certificate sign(
      X500Name issuer, KeyPair issuerKeys, X500Name subject, java.security.PublicKey key,
      boolean authority, GeneralNames names)
      throws IOException, OperatorCreationException, GeneralSecurityException {
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(1))),
        subject,
        key);
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(authority));
    builder.addExtension(Extension.keyUsage, true, authority
        ? new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign)
        : new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    if (names != null) {
      builder.addExtension(Extension.subjectAlternativeName, false, names);
    }
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA")
            .build(issuerKeys.getPrivate())));
  }

  private static Path write(Path file, String kind, byte[] der) throws IOException {
    String pem = "-----BEGIN " + kind + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + kind + "-----\n";
    return Files.writeString(file, pem, StandardCharsets.US_ASCII);
  }
}
