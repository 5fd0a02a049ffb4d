package dev.baton.protocol;

/**
 * Commands of the command phase (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase.html,
 * plus MariaDB's COM_STMT_BULK_EXECUTE) and the shape of the response each one gets. Bytes not listed are not
 * commands Baton forwards.
 */
public enum CommandType {
    QUIT(0x01, Response.NONE),
    INIT_DB(0x02, Response.SIMPLE),
    QUERY(0x03, Response.RESULT),
    FIELD_LIST(0x04, Response.FIELD_LIST),
    CREATE_DB(0x05, Response.SIMPLE),
    DROP_DB(0x06, Response.SIMPLE),
    REFRESH(0x07, Response.SIMPLE),
    SHUTDOWN(0x08, Response.SIMPLE),
    STATISTICS(0x09, Response.ONE_PACKET),
    PROCESS_INFO(0x0A, Response.RESULT),
    PROCESS_KILL(0x0C, Response.SIMPLE),
    DEBUG(0x0D, Response.SIMPLE),
    PING(0x0E, Response.SIMPLE),
    CHANGE_USER(0x11, Response.AUTH),
    BINLOG_DUMP(0x12, Response.STREAM),
    TABLE_DUMP(0x13, Response.STREAM),
    REGISTER_SLAVE(0x15, Response.SIMPLE),
    STMT_PREPARE(0x16, Response.PREPARE),
    STMT_EXECUTE(0x17, Response.RESULT),
    STMT_SEND_LONG_DATA(0x18, Response.NONE),
    STMT_CLOSE(0x19, Response.NONE),
    STMT_RESET(0x1A, Response.SIMPLE),
    SET_OPTION(0x1B, Response.SIMPLE),
    STMT_FETCH(0x1C, Response.ROWS),
    BINLOG_DUMP_GTID(0x1E, Response.STREAM),
    RESET_CONNECTION(0x1F, Response.SIMPLE),
    STMT_BULK_EXECUTE(0xFA, Response.RESULT);

    /** What the server answers to a command. */
    public enum Response {
        /** No answer at all. */
        NONE,
        /** One OK, EOF or ERR packet. */
        SIMPLE,
        /** One packet of any shape. */
        ONE_PACKET,
        /** OK, ERR, LOCAL INFILE request, or one or more result sets. */
        RESULT,
        /** COM_STMT_PREPARE_OK with parameter and column definitions, or ERR. */
        PREPARE,
        /** Rows up to an EOF (or OK in EOF's place) or ERR. */
        ROWS,
        /** Column definitions up to EOF, or ERR. */
        FIELD_LIST,
        /** An authentication exchange ending in OK or ERR. */
        AUTH,
        /** A stream that ends only with the connection; Baton stops tracking. */
        STREAM
    }

    private static final CommandType[] BY_CODE = new CommandType[256];

    static {
        for (CommandType type : values()) {
            BY_CODE[type.code] = type;
        }
    }

    private final int code;
    private final Response response;

    CommandType(int code, Response response) {
        this.code = code;
        this.response = response;
    }

    public int code() {
        return code;
    }

    public Response response() {
        return response;
    }

    /** The command with this first payload byte, or null if there is none. */
    public static CommandType of(int code) {
        return BY_CODE[code & 0xFF];
    }
}
