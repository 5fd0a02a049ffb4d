package dev.baton.proxy.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Throw-away PEM files for unit tests, made with the {@code openssl} command in a directory the test owns: a
 * self-signed server certificate for localhost and 127.0.0.1 with its PKCS#8 key, the same key as PKCS#1, and a
 * second key that belongs to no certificate.
 */
public record TestTlsFiles(Path dir) {

    public static TestTlsFiles create(Path dir) {
        TestTlsFiles files = new TestTlsFiles(dir);
        files.selfSigned("server");
        openssl("rsa", "-in", files.key("server").toString(), "-traditional", "-out", files.dir.resolve("server-pkcs1.key").toString());
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", files.key("stranger").toString());
        return files;
    }

    /** A new self-signed certificate {@code <name>.pem} and key {@code <name>.key}, each with its own serial number. */
    public Path selfSigned(String name) {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key(name).toString(),
                "-out", cert(name).toString());
        return cert(name);
    }

    public Path cert(String name) {
        return dir.resolve(name + ".pem");
    }

    public Path key(String name) {
        return dir.resolve(name + ".key");
    }

    public Path serverCert() {
        return cert("server");
    }

    public Path serverKey() {
        return key("server");
    }

    public Path serverKeyPkcs1() {
        return dir.resolve("server-pkcs1.key");
    }

    public Path strangerKey() {
        return key("stranger");
    }

    public BatonConfig.ClientTls settings(boolean require) {
        return new BatonConfig.ClientTls(serverCert(), serverKey(), null, require, "TLSv1.2");
    }

    private static void openssl(String... args) {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
