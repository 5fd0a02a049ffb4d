package dev.baton.protocol;

/**
 * Capability flags exchanged in the handshake, named as in the MySQL protocol documentation
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html) and, for the
 * extended set, MariaDB's (https://mariadb.com/kb/en/connection/#capabilities).
 */
public final class CapabilityFlags {
    public static final int CLIENT_MYSQL = 1; // CLIENT_LONG_PASSWORD; unset by MariaDB servers that send extended flags
    public static final int CLIENT_FOUND_ROWS = 1 << 1;
    public static final int CLIENT_LONG_FLAG = 1 << 2;
    public static final int CLIENT_CONNECT_WITH_DB = 1 << 3;
    public static final int CLIENT_NO_SCHEMA = 1 << 4;
    public static final int CLIENT_COMPRESS = 1 << 5;
    public static final int CLIENT_ODBC = 1 << 6;
    public static final int CLIENT_LOCAL_FILES = 1 << 7;
    public static final int CLIENT_IGNORE_SPACE = 1 << 8;
    public static final int CLIENT_PROTOCOL_41 = 1 << 9;
    public static final int CLIENT_INTERACTIVE = 1 << 10;
    public static final int CLIENT_SSL = 1 << 11;
    public static final int CLIENT_IGNORE_SIGPIPE = 1 << 12;
    public static final int CLIENT_TRANSACTIONS = 1 << 13;
    public static final int CLIENT_RESERVED = 1 << 14;
    public static final int CLIENT_SECURE_CONNECTION = 1 << 15;
    public static final int CLIENT_MULTI_STATEMENTS = 1 << 16;
    public static final int CLIENT_MULTI_RESULTS = 1 << 17;
    public static final int CLIENT_PS_MULTI_RESULTS = 1 << 18;
    public static final int CLIENT_PLUGIN_AUTH = 1 << 19;
    public static final int CLIENT_CONNECT_ATTRS = 1 << 20;
    public static final int CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21;
    public static final int CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22;
    public static final int CLIENT_SESSION_TRACK = 1 << 23;
    public static final int CLIENT_DEPRECATE_EOF = 1 << 24;
    public static final int CLIENT_OPTIONAL_RESULTSET_METADATA = 1 << 25;
    public static final int CLIENT_ZSTD_COMPRESSION_ALGORITHM = 1 << 26;
    public static final int CLIENT_QUERY_ATTRIBUTES = 1 << 27;
    public static final int CLIENT_SSL_VERIFY_SERVER_CERT = 1 << 30;

    /** MariaDB extended capabilities, sent in the last four filler bytes when {@link #CLIENT_MYSQL} is unset. */
    public static final int MARIADB_CLIENT_PROGRESS = 1;
    public static final int MARIADB_CLIENT_COM_MULTI = 1 << 1;
    public static final int MARIADB_CLIENT_STMT_BULK_OPERATIONS = 1 << 2;
    public static final int MARIADB_CLIENT_EXTENDED_METADATA = 1 << 3;
    public static final int MARIADB_CLIENT_CACHE_METADATA = 1 << 4;
    public static final int MARIADB_CLIENT_BULK_UNIT_RESULTS = 1 << 5;

    /**
     * What Baton removes from the server greeting because it cannot honour it yet: compression and TLS change the
     * framing of every later byte; optional and cached result-set metadata change the shape of result sets Baton
     * tracks; progress reports and COM_MULTI add packets Baton does not count. {@link #CLIENT_SSL} is never passed
     * between client and server: Baton offers it to clients itself when it terminates their TLS, removes it from
     * every handshake response it relays to a server, and sets it in its own SSLRequest when it opens TLS to a server.
     */
    public static final int UNSUPPORTED = CLIENT_COMPRESS | CLIENT_SSL | CLIENT_ZSTD_COMPRESSION_ALGORITHM
            | CLIENT_OPTIONAL_RESULTSET_METADATA | CLIENT_SSL_VERIFY_SERVER_CERT;
    public static final int UNSUPPORTED_MARIADB = MARIADB_CLIENT_PROGRESS | MARIADB_CLIENT_COM_MULTI
            | MARIADB_CLIENT_CACHE_METADATA;

    private CapabilityFlags() {
    }
}
