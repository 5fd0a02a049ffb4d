package dev.baton.routing.core;

import dev.baton.routing.ServerTls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The PEM files of {@link ServerTls} as the PKCS#12 key stores Connector/J reads (it takes trust and client
 * certificates only from key store files): made once per setting, in files only Baton's user can read, removed when
 * Baton exits.
 *
 * @param trustUrl  file URL of the store with the CA certificates; null when not verifying
 * @param clientUrl file URL of the store with the client certificate and key; null when none is configured
 * @param password  the stores' password (random, never written elsewhere)
 */
record MonitorKeyStores(String trustUrl, String clientUrl, String password) {

    private static final Map<ServerTls, MonitorKeyStores> MADE = new ConcurrentHashMap<>();

    /** The stores for {@code tls}, made on first use. */
    static MonitorKeyStores of(ServerTls tls) {
        return MADE.computeIfAbsent(tls, MonitorKeyStores::make);
    }

    private static MonitorKeyStores make(ServerTls tls) {
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        char[] password = HexFormat.of().formatHex(secret).toCharArray();
        try {
            String trust = null;
            if (tls.mode().verifiesChain()) {
                KeyStore store = emptyStore(password);
                List<? extends Certificate> cas = certificates(tls.ca());
                for (int i = 0; i < cas.size(); i++) {
                    store.setCertificateEntry("ca-" + i, cas.get(i));
                }
                trust = write(store, password, "baton-monitor-trust-");
            }
            String client = null;
            if (tls.cert() != null) {
                KeyStore store = emptyStore(password);
                store.setKeyEntry("client", privateKey(tls.key()), password,
                        certificates(tls.cert()).toArray(new Certificate[0]));
                client = write(store, password, "baton-monitor-client-");
            }
            return new MonitorKeyStores(trust, client, new String(password));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the monitor's TLS key stores: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make the monitor's TLS key stores: " + e.getMessage(), e);
        }
    }

    static List<? extends Certificate> certificates(Path pem) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(pem)) {
            List<? extends Certificate> list = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
            if (list.isEmpty()) {
                throw new GeneralSecurityException(pem + " holds no certificate");
            }
            return list;
        }
    }

    /** A PKCS#8 PEM key ("BEGIN PRIVATE KEY"), RSA or EC. */
    static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
        String text = Files.readString(pem, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = text.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException(pem + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY); convert it with "
                    + "'openssl pkcs8 -topk8 -nocrypt'");
        }
        byte[] der = Base64.getMimeDecoder().decode(text.substring(begin + 27, end));
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException(pem + " holds no RSA, EC or Ed25519 key", last);
    }

    private static KeyStore emptyStore(char[] password) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, password);
        return store;
    }

    private static String write(KeyStore store, char[] password, String prefix) throws IOException, GeneralSecurityException {
        Path file = Files.createTempFile(prefix, ".p12",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        file.toFile().deleteOnExit();
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.TRUNCATE_EXISTING)) {
            store.store(out, password);
        }
        return file.toUri().toString();
    }
}
