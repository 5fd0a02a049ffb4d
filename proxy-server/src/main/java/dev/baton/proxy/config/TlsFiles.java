package dev.baton.proxy.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The certificate chain, private key and (optional) client CA Baton serves TLS with, read from PEM files and
 * checked against each other. Read at start (a bad file stops Baton with a message naming it) and again on every
 * reload (a bad file keeps the old ones).
 *
 * @param chain     the serving certificate first, then any intermediates as the file lists them
 * @param key       the private key of {@code chain[0]}
 * @param clientCas the CAs client certificates must chain to; empty when client certificates are not asked for
 */
public record TlsFiles(List<X509Certificate> chain, PrivateKey key, List<X509Certificate> clientCas) {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");

    public TlsFiles {
        chain = List.copyOf(chain);
        clientCas = List.copyOf(clientCas);
    }

    /** The certificate clients are shown. */
    public X509Certificate certificate() {
        return chain.get(0);
    }

    /**
     * Reads and checks the files of {@code settings}.
     *
     * @throws IllegalArgumentException a sentence naming the file and what is wrong with it
     */
    public static TlsFiles read(BatonConfig.ClientTls settings) {
        List<X509Certificate> chain = certificates(settings.cert(), "cert");
        PrivateKey key = privateKey(settings.key());
        if (!matches(key, chain.get(0).getPublicKey())) {
            throw new IllegalArgumentException("key file " + settings.key() + " is not the private key of the certificate in "
                    + settings.cert());
        }
        List<X509Certificate> cas = settings.ca() == null ? List.of() : certificates(settings.ca(), "ca");
        return new TlsFiles(chain, key, cas);
    }

    private static String text(Path file, String what) {
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(what + " file " + file + " does not exist");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(what + " file " + file + " is not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(what + " file " + file + " cannot be read (permissions)");
        }
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " file " + file + " cannot be read: " + e.getMessage());
        } catch (RuntimeException e) { // a malformed byte: not PEM text
            throw new IllegalArgumentException(what + " file " + file + " is not a PEM file");
        }
    }

    private static List<X509Certificate> certificates(Path file, String what) {
        String pem = text(file, what);
        List<X509Certificate> certificates = new ArrayList<>();
        Matcher m = PEM.matcher(pem);
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            while (m.find()) {
                if (m.group(1).equals("CERTIFICATE")) {
                    certificates.add((X509Certificate) factory.generateCertificate(
                            new ByteArrayInputStream(Base64.getMimeDecoder().decode(m.group(2)))));
                }
            }
        } catch (CertificateException | IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " file " + file + " holds a certificate that cannot be read: "
                    + e.getMessage());
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException(what + " file " + file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return certificates;
    }

    /** A PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") PEM key, unencrypted. */
    private static PrivateKey privateKey(Path file) {
        String pem = text(file, "key");
        Matcher m = PEM.matcher(pem);
        while (m.find()) {
            String type = m.group(1);
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("key file " + file + " is not valid PEM: " + e.getMessage());
            }
            switch (type) {
                case "PRIVATE KEY" -> {
                    for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
                        try {
                            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                        } catch (GeneralSecurityException e) {
                            // not this algorithm: try the next
                        }
                    }
                    throw new IllegalArgumentException("key file " + file + " holds a PKCS#8 key of an algorithm Baton "
                            + "cannot read (RSA, EC, Ed25519 and Ed448 can be read)");
                }
                case "RSA PRIVATE KEY" -> {
                    try {
                        return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs1ToPkcs8(der)));
                    } catch (GeneralSecurityException e) {
                        throw new IllegalArgumentException("key file " + file + " holds an RSA key that cannot be read: "
                                + e.getMessage());
                    }
                }
                case "ENCRYPTED PRIVATE KEY" -> throw new IllegalArgumentException("key file " + file
                        + " is encrypted; give Baton an unencrypted key (openssl pkcs8 -topk8 -nocrypt)");
                default -> {
                    // a certificate or parameters next to the key: skip
                }
            }
        }
        throw new IllegalArgumentException("key file " + file + " holds no PEM private key (-----BEGIN PRIVATE KEY----- "
                + "or -----BEGIN RSA PRIVATE KEY-----)");
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo: version 0, rsaEncryption with NULL parameters. */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0D, 0x06, 0x09, 0x2A, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xF7, 0x0D, 0x01, 0x01, 0x01,
                0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] length = n < 0x80 ? new byte[] {(byte) n}
                : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + length.length + n];
        out[0] = (byte) tag;
        System.arraycopy(length, 0, out, 1, length.length);
        System.arraycopy(content, 0, out, 1 + length.length, n);
        return out;
    }

    /** Whether {@code key} belongs to {@code publicKey}: a signature made with one verifies with the other. */
    private static boolean matches(PrivateKey key, PublicKey publicKey) {
        if (!key.getAlgorithm().equals(publicKey.getAlgorithm())
                && !(key.getAlgorithm().equals("EC") && publicKey.getAlgorithm().equals("EC"))) {
            return false;
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> key.getAlgorithm(); // Ed25519, Ed448
        };
        try {
            byte[] probe = "baton key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
