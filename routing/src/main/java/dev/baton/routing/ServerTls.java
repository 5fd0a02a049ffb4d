package dev.baton.routing;

import java.nio.file.Path;
import java.util.Locale;

/**
 * How Baton's own connections to the database servers use TLS (client sessions, moved sessions and the monitor
 * alike), with the meaning of the MySQL clients' {@code --ssl-mode}.
 *
 * @param mode how much TLS is asked for and what is verified
 * @param ca   PEM file with the certificate authorities a server's certificate must chain to; null unless verifying
 * @param cert PEM client certificate for servers that ask for one (accounts with REQUIRE X509); null for none
 * @param key  PEM (PKCS#8) private key of {@code cert}; null when {@code cert} is
 */
public record ServerTls(Mode mode, Path ca, Path cert, Path key) {

    /** No TLS to the servers: the default. */
    public static final ServerTls DISABLED = new ServerTls(Mode.DISABLED, null, null, null);

    public ServerTls {
        if (mode == null) {
            throw new IllegalArgumentException("mode is required");
        }
        if (mode.verifiesChain() && ca == null) {
            throw new IllegalArgumentException("mode " + mode.configName() + " needs a CA file");
        }
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("a client certificate needs its key, and a key its certificate");
        }
    }

    /** What is asked of a server's TLS. */
    public enum Mode {
        /** Plain connections. */
        DISABLED,
        /** TLS when the server's greeting offers it, else plain; the certificate is not checked. */
        PREFERRED,
        /** TLS or no connection; the certificate is not checked. */
        REQUIRED,
        /** TLS, and the server's certificate must chain to the configured CA. */
        VERIFY_CA,
        /** As VERIFY_CA, and the certificate must name the node's host name or IP address. */
        VERIFY_IDENTITY;

        /** The word in the config: {@code verify-ca} for VERIFY_CA. */
        public String configName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Mode byConfigName(String word) {
            for (Mode m : values()) {
                if (m.configName().equals(word)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("'" + word + "' is not a TLS mode (disabled, preferred, required, "
                    + "verify-ca, verify-identity)");
        }

        /** Whether TLS is tried at all. */
        public boolean wanted() {
            return this != DISABLED;
        }

        /** Whether a server that does not offer TLS is refused. */
        public boolean required() {
            return this != DISABLED && this != PREFERRED;
        }

        /** Whether the certificate chain is checked against the CA. */
        public boolean verifiesChain() {
            return this == VERIFY_CA || this == VERIFY_IDENTITY;
        }
    }
}
