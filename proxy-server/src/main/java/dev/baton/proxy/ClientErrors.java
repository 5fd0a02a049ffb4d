package dev.baton.proxy;

import dev.baton.protocol.ErrPacket;

/**
 * The errors Baton itself sends to MySQL clients, with codes and SQL states clients already understand. Baton's
 * own condition, no writer, uses code 9001 (outside MySQL's and MariaDB's ranges), documented in
 * docs/architecture.md.
 */
final class ClientErrors {
    static final int NO_WRITER = 9001;
    static final int ER_HANDSHAKE_ERROR = 1043;
    static final int ER_SECURE_TRANSPORT_REQUIRED = 3159;
    static final int ER_UNKNOWN_COM_ERROR = 1047;
    static final int ER_NET_PACKETS_OUT_OF_ORDER = 1156;
    static final int ER_NET_READ_ERROR = 1158;

    private ClientErrors() {
    }

    static final int ER_CON_COUNT_ERROR = 1040;
    static final int ER_NO_SUCH_THREAD = 1094;

    /**
     * A KILL naming a session of this Baton whose server connection is on another node (or not open yet): the
     * server's own answer for a thread it does not have. The session goes on.
     */
    static ErrPacket noSuchThread(long id) {
        return new ErrPacket(ER_NO_SUCH_THREAD, "HY000", "Unknown thread id: " + id);
    }

    /** A client over its connection budget: the server's own "Too many connections" code and state. */
    static ErrPacket overQuota(String usage) {
        return new ErrPacket(ER_CON_COUNT_ERROR, "08004", "Too many connections: " + usage
                + "; close idle connections or raise the quota in Baton's config");
    }

    static ErrPacket noWriter(String reason) {
        return new ErrPacket(NO_WRITER, "08S01", "no writer available: " + reason);
    }

    static ErrPacket badHandshake(String reason) {
        return new ErrPacket(ER_HANDSHAKE_ERROR, "08S01", "Bad handshake: " + reason);
    }

    static ErrPacket tlsUnsupported() {
        return new ErrPacket(ER_HANDSHAKE_ERROR, "08004", "Baton does not offer TLS (its config has no tls section); "
                + "connect without TLS (Connector/J sslMode=DISABLED, mariadb client --skip-ssl) or ask for tls to be set up");
    }

    /** A client without TLS where tls.require is true: the server's own words for require_secure_transport. */
    static ErrPacket insecureTransport() {
        return new ErrPacket(ER_SECURE_TRANSPORT_REQUIRED, "08004",
                "Connections using insecure transport are prohibited while --require_secure_transport=ON.");
    }

    static ErrPacket unknownCommand(int code) {
        return new ErrPacket(ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command 0x" + Integer.toHexString(code)
                + "; Baton closes the connection");
    }

    static ErrPacket emptyCommand() {
        return new ErrPacket(ER_UNKNOWN_COM_ERROR, "08S01", "Empty command packet; Baton closes the connection");
    }

    /**
     * The server sent bytes Baton cannot read as the packet the protocol expects. The session's state is unknown
     * from here, so Baton ends it; 08S01 tells pools to discard the connection.
     */
    static ErrPacket malformedFromServer(String node, String reason) {
        return new ErrPacket(ER_NET_READ_ERROR, "08S01", "Got an error reading communication packets: server " + node
                + " sent a malformed packet (" + reason + "); Baton closed this connection. Reconnect and retry; "
                + "if it happens again, check that server's error log and report its version to Baton's maintainers");
    }

    /** The client sent a command Baton cannot read; its state is unknown from here, so Baton ends the session. */
    static ErrPacket malformedFromClient(String reason) {
        return new ErrPacket(ER_NET_READ_ERROR, "08S01", "Got an error reading communication packets: malformed packet "
                + "from this client (" + reason + "); Baton closed the connection");
    }

    static ErrPacket outOfOrder(int sequenceId) {
        return new ErrPacket(ER_NET_PACKETS_OUT_OF_ORDER, "08S01", "Got packets out of order (command with sequence id "
                + sequenceId + ", expected 0); Baton closes the connection");
    }
}
