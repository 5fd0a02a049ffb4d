package dev.baton.proxy.move;

/**
 * One account row's stored login, as the monitor user reads it: the account's host part, its authentication plugin,
 * what the plugin stores (for {@code mysql_native_password}, {@code '*'} and 40 hex digits of
 * {@code SHA1(SHA1(password))}), and whether the account offers several plugins ({@code IDENTIFIED VIA a OR b}).
 * {@code toString} never shows the stored value.
 */
record StoredCredential(String host, String plugin, String authenticationString, boolean alternatives) {
    static final String NATIVE = "mysql_native_password";

    /** Whether Baton can prove an answer against this row: one plugin, {@code mysql_native_password}. */
    boolean nativePassword() {
        return !alternatives && NATIVE.equals(plugin);
    }

    /** How the account logs in, for messages: its plugin, or that it offers several. */
    String how() {
        return alternatives ? "several authentication plugins (IDENTIFIED VIA ... OR ...)"
                : plugin == null || plugin.isEmpty() ? "no authentication plugin named" : plugin;
    }

    @Override
    public String toString() {
        return "StoredCredential[host=" + host + ", plugin=" + plugin + ", alternatives=" + alternatives + "]";
    }
}
