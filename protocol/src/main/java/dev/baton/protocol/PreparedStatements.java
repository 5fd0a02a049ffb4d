package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static dev.baton.protocol.StatusFlags.SERVER_STATUS_CURSOR_EXISTS;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_LAST_ROW_SENT;

/**
 * The server-side prepared statements of one client session
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_command_phase_ps.html and MariaDB's
 * https://mariadb.com/kb/en/com_stmt_execute/), kept so that the session can move to another server without Baton
 * rewriting statement ids in the relay: a {@link StatementReplay} makes a fresh connection hand out the very ids the
 * client holds, and {@link #rewriteExecute} binds parameter types again where the client counts on the old
 * connection remembering them.
 *
 * <p>Why replaying gives the same ids, as checked on MariaDB 10.11: a connection numbers its statements from a
 * counter ({@code ++thd->statement_id_counter}) that every COM_STMT_PREPARE consumes, also one that fails with ERR,
 * and so do SQL {@code PREPARE} and {@code EXECUTE IMMEDIATE}; COM_STMT_CLOSE and COM_RESET_CONNECTION give nothing
 * back. The counter lives in the server's THD, which the thread cache hands to the next connection: a fresh
 * connection does not start at 1 but wherever the last connection served by that thread stopped (a brand-new thread
 * starts at 1). A replay therefore first prepares one statement to learn where the fresh connection stands, then
 * prepares, in id order and pipelined, the real text for every id still open on the old connection and a cheap
 * {@code DO 0} (closed at once) for every id in between; see {@link StatementReplay}.
 *
 * <p>Why types are bound again: a COM_STMT_EXECUTE sends the parameter types only when its new_params_bound_flag is
 * 1, and libmariadb (sysbench) does so only on the first execution of a statement. MariaDB answers a flag of 0 on a
 * statement whose types were never bound with ERR 1210 "Incorrect arguments to mysqld_stmt_execute"; the types stay
 * bound across COM_STMT_RESET.
 *
 * <p>Fed by the relay: every whole client command through {@link #onClientCommand}, and from the server's side the
 * first packet of each COM_STMT_PREPARE answer ({@link #onPrepareAnswer}) and the end of each COM_STMT_EXECUTE and
 * COM_STMT_FETCH answer ({@link #onStatementAnswer}). Commands are answered in the order they were sent, which is
 * how answers are matched to commands even when a client pipelines (MariaDB Connector/J sends COM_STMT_PREPARE and
 * a COM_STMT_EXECUTE for the statement id 0xFFFFFFFF, "the statement prepared last", before the answer).
 *
 * <p>Memory: each open statement keeps its SQL text as sent (a {@code byte[]}, in the client's character set) and
 * two bytes per bound parameter type, plus about 100 bytes of bookkeeping; text beyond
 * {@link #MAX_RETAINED_TEXT_BYTES} per session is not kept, and a statement without its text makes the session
 * unmovable until the client closes it. Not thread-safe: it lives on the session's event loop.
 */
public final class PreparedStatements {
    /**
     * The most COM_STMT_PREPAREs a replay may send. A client that prepares and closes a statement per query (Connector/J
     * without a statement cache, PHP) leaves ever higher ids, and a replay has to walk the fresh connection's counter
     * up to the highest open one; when a switchover moves every session at once, this bounds the work each one puts
     * on the new writer to about 1000 cheap prepares (some 20 KB each way).
     */
    public static final int MAX_REPLAYED_PREPARES = 1000;
    /** SQL text kept per session; a statement whose text would go beyond it is not kept and cannot be replayed. */
    public static final int MAX_RETAINED_TEXT_BYTES = 1 << 20;

    /** The statement id that MariaDB reads as "the statement prepared last on this connection". */
    static final long LAST_PREPARED = 0xFFFFFFFFL;
    private static final int COM_STMT_PREPARE = 0x16;
    private static final int COM_STMT_EXECUTE = 0x17;
    private static final int COM_STMT_SEND_LONG_DATA = 0x18;
    private static final int COM_STMT_CLOSE = 0x19;
    private static final int COM_STMT_RESET = 0x1A;
    private static final int COM_STMT_FETCH = 0x1C;
    private static final int COM_STMT_BULK_EXECUTE = 0xFA;
    /** COM_STMT_BULK_EXECUTE flag: the parameter types follow the flags. */
    private static final int STMT_BULK_FLAG_SEND_TYPES = 0x80;
    /** Bytes of a COM_STMT_EXECUTE before its NULL bitmap: command, statement id, flags, iteration count. */
    private static final int EXECUTE_HEAD = 10;
    /** Bytes of a COM_STMT_BULK_EXECUTE before its types: command, statement id, flags. */
    private static final int BULK_HEAD = 7;
    /** A NULL bitmap, the flag and the types of the most parameters a statement can have (65535). */
    private static final int MAX_BINDING = 8192 + 1 + 2 * 65535;

    /** One statement as the client prepared it; the id is known once the server answered. */
    static final class Statement {
        final byte[] sql;
        long id = -1;
        int params;
        int columns;
        String schema;
        /** Two bytes (type, flags) per parameter, as the client last bound them; null until bound. */
        byte[] types;
        /** Parameter bindings of COM_STMT_EXECUTEs sent before the answer told how many parameters there are. */
        List<byte[]> unparsedBindings;
        boolean answered;
        boolean closed;
        boolean longData;
        boolean cursor;
        boolean rebind;

        Statement(byte[] sql) {
            this.sql = sql;
        }

        boolean open() {
            return answered && id >= 0 && !closed;
        }
    }

    private final Map<Long, Statement> open = new HashMap<>();
    // Both deques are sized for one entry: every movable session holds them for its whole life, mostly empty (the
    // default capacity would hold 17 slots each); a client that pipelines statements grows them once.
    /** Statements whose COM_STMT_PREPARE is not answered yet, oldest first. */
    private final ArrayDeque<Statement> preparing = new ArrayDeque<>(1);
    /** The statement each COM_STMT_EXECUTE or COM_STMT_FETCH in flight names (or {@link #UNKNOWN}), oldest first. */
    private final ArrayDeque<Statement> executing = new ArrayDeque<>(1);
    private static final Statement UNKNOWN = new Statement(null);
    /** What 0xFFFFFFFF names: the statement prepared last, or null after it failed or was closed. */
    private Statement last;
    private int retainedTextBytes;
    /** The server gave a statement whose id Baton could not read: nothing can be replayed until a reset. */
    private boolean lost;

    public PreparedStatements() {
    }

    /**
     * A whole command from the client, about to go to the server unchanged (after {@link #rewriteExecute}, pass the
     * payload that is sent). Reads only the statement commands; the buffer's indexes are left as they were.
     */
    public void onClientCommand(ByteBuf payload) {
        int at = payload.readerIndex();
        int length = payload.readableBytes();
        if (length == 0) {
            return;
        }
        int command = payload.getUnsignedByte(at);
        if (command == COM_STMT_PREPARE) {
            prepare(payload, at, length);
            return;
        }
        if (command != COM_STMT_EXECUTE && command != COM_STMT_SEND_LONG_DATA && command != COM_STMT_CLOSE
                && command != COM_STMT_RESET && command != COM_STMT_FETCH && command != COM_STMT_BULK_EXECUTE) {
            return;
        }
        Statement statement = length >= 5 ? statement(payload.getUnsignedIntLE(at + 1)) : null;
        switch (command) {
            case COM_STMT_EXECUTE -> {
                executing.addLast(statement == null ? UNKNOWN : statement);
                if (statement != null) {
                    statement.longData = false; // the execution consumes what was sent
                    executeBinding(statement, payload, at, length);
                }
            }
            case COM_STMT_FETCH -> executing.addLast(statement == null ? UNKNOWN : statement);
            case COM_STMT_BULK_EXECUTE -> {
                if (statement != null) {
                    statement.longData = false;
                    bulkBinding(statement, payload, at, length);
                }
            }
            case COM_STMT_SEND_LONG_DATA -> {
                if (statement != null) {
                    statement.longData = true;
                }
            }
            case COM_STMT_RESET -> {
                if (statement != null) {
                    statement.longData = false;
                    statement.cursor = false;
                }
            }
            case COM_STMT_CLOSE -> {
                if (statement != null) {
                    close(statement);
                }
            }
            default -> throw new IllegalStateException("not a statement command: " + command);
        }
    }

    private void prepare(ByteBuf payload, int at, int length) {
        byte[] sql = null;
        if (retainedTextBytes + length - 1 <= MAX_RETAINED_TEXT_BYTES) {
            sql = new byte[length - 1];
            payload.getBytes(at + 1, sql);
            retainedTextBytes += sql.length;
        }
        Statement statement = new Statement(sql);
        preparing.addLast(statement);
        last = statement;
    }

    /** The statement an id in a client command names, or null if Baton knows of none. */
    private Statement statement(long id) {
        return id == LAST_PREPARED ? last : open.get(id);
    }

    private void close(Statement statement) {
        statement.closed = true;
        statement.cursor = false;
        statement.longData = false;
        if (statement.answered) {
            forget(statement);
        }
        if (last == statement) {
            last = null;
        }
    }

    private void forget(Statement statement) {
        if (statement.id >= 0) {
            open.remove(statement.id);
        }
        if (statement.sql != null) {
            retainedTextBytes -= statement.sql.length;
        }
    }

    /** Remembers the types a COM_STMT_EXECUTE binds, or keeps its binding until the statement's answer. */
    private void executeBinding(Statement statement, ByteBuf payload, int at, int length) {
        if (length <= EXECUTE_HEAD) {
            return; // no parameters
        }
        if (!statement.answered) {
            byte[] binding = new byte[Math.min(length - EXECUTE_HEAD, MAX_BINDING)];
            payload.getBytes(at + EXECUTE_HEAD, binding);
            if (statement.unparsedBindings == null) {
                statement.unparsedBindings = new ArrayList<>(1);
            }
            statement.unparsedBindings.add(binding);
            return;
        }
        int bound = boundFlagIndex(statement, at, length);
        if (bound >= 0 && payload.getByte(bound) == 1) {
            bind(statement, payload, bound + 1, at + length);
        }
    }

    /** Index of new_params_bound_flag in a COM_STMT_EXECUTE at {@code at}, or -1 if it has none or is cut short. */
    private static int boundFlagIndex(Statement statement, int at, int length) {
        if (statement.params == 0) {
            return -1;
        }
        int bound = at + EXECUTE_HEAD + (statement.params + 7) / 8; // NULL bitmap
        return bound < at + length ? bound : -1;
    }

    private static void bind(Statement statement, ByteBuf buf, int typesAt, int end) {
        int size = 2 * statement.params;
        if (typesAt + size > end) {
            return; // malformed: the server refuses it and keeps what was bound
        }
        byte[] types = new byte[size];
        buf.getBytes(typesAt, types);
        statement.types = types;
        statement.rebind = false;
    }

    private static void bind(Statement statement, byte[] binding, int typesAt) {
        int size = 2 * statement.params;
        if (typesAt + size <= binding.length) {
            byte[] types = new byte[size];
            System.arraycopy(binding, typesAt, types, 0, size);
            statement.types = types;
            statement.rebind = false;
        }
    }

    private void bulkBinding(Statement statement, ByteBuf payload, int at, int length) {
        if (statement.answered && length >= BULK_HEAD
                && (payload.getUnsignedShortLE(at + 5) & STMT_BULK_FLAG_SEND_TYPES) != 0) {
            bind(statement, payload, at + BULK_HEAD, at + length);
        }
    }

    /**
     * The first packet of the server's answer to the oldest unanswered COM_STMT_PREPARE, as a scanner shows it:
     * COM_STMT_PREPARE_OK (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html)
     * or ERR. A failed prepare leaves no statement, and 0xFFFFFFFF then names none (as on MariaDB).
     *
     * @param schema the session's database when the server prepared it (the statement's tables were resolved in it)
     */
    public void onPrepareAnswer(ByteBuf buf, int index, int available, int length, String schema) {
        Statement statement = preparing.pollFirst();
        if (statement == null) {
            return;
        }
        statement.answered = true;
        statement.schema = schema;
        List<byte[]> bindings = statement.unparsedBindings;
        statement.unparsedBindings = null;
        if (available < 1 || buf.getUnsignedByte(index) != 0x00) {
            failed(statement);
            return;
        }
        if (available < 9 || length < 9) {
            lost = true; // a statement exists whose id Baton cannot tell
            failed(statement);
            return;
        }
        statement.id = buf.getUnsignedIntLE(index + 1); // statement_id
        statement.columns = buf.getUnsignedShortLE(index + 5); // num_columns
        statement.params = buf.getUnsignedShortLE(index + 7); // num_params
        if (statement.closed) {
            forget(statement);
            return;
        }
        Statement replaced = open.put(statement.id, statement);
        if (replaced != null && replaced.sql != null) {
            retainedTextBytes -= replaced.sql.length;
        }
        if (bindings != null) {
            for (byte[] binding : bindings) {
                int bound = (statement.params + 7) / 8;
                if (statement.params > 0 && bound < binding.length && binding[bound] == 1) {
                    bind(statement, binding, bound + 1);
                }
            }
        }
    }

    private void failed(Statement statement) {
        if (statement.sql != null) {
            retainedTextBytes -= statement.sql.length;
        }
        statement.closed = true;
        if (last == statement) {
            last = null;
        }
    }

    /**
     * The end of the server's answer to the oldest COM_STMT_EXECUTE or COM_STMT_FETCH in flight, with the status flags
     * of the packet that ended it (the EOF after the column definitions when the execution opened a cursor, the
     * result's last EOF or OK), or 0 for an ERR. A cursor stays open while SERVER_STATUS_CURSOR_EXISTS is set without
     * SERVER_STATUS_LAST_ROW_SENT. Not called for COM_STMT_BULK_EXECUTE, which opens no cursor.
     */
    public void onStatementAnswer(int statusFlags) {
        Statement statement = executing.pollFirst();
        if (statement != null && statement != UNKNOWN) {
            statement.cursor = (statusFlags & SERVER_STATUS_CURSOR_EXISTS) != 0
                    && (statusFlags & SERVER_STATUS_LAST_ROW_SENT) == 0;
        }
    }

    /**
     * The server closed every statement: COM_RESET_CONNECTION or COM_CHANGE_USER succeeded. Statements prepared after
     * that command (pipelined, not answered yet) stay.
     */
    public void reset() {
        for (Statement statement : open.values()) {
            statement.closed = true;
        }
        open.clear();
        retainedTextBytes = 0;
        for (Statement statement : preparing) {
            if (statement.sql != null) {
                retainedTextBytes += statement.sql.length;
            }
        }
        if (last != null && last.answered) {
            last = null;
        }
        lost = false;
    }

    /** How many statements are open on the server (prepared, answered and not closed). */
    public int openStatements() {
        return open.size();
    }

    /**
     * Why the statements keep the session from moving, as a short lower-case label, or null if a
     * {@link #replay(int) replay} can rebuild them:
     * <ul>
     * <li>{@code prepared_statement}: a prepare is unanswered, a statement's text was not kept, or its id unread;</li>
     * <li>{@code long_data}: COM_STMT_SEND_LONG_DATA sent parameter data that the next execution would use;</li>
     * <li>{@code cursor}: an execution opened a cursor the client has not read to its end, reset or closed;</li>
     * <li>{@code statement_schema}: a statement was prepared in another database than {@code schema}, the one the
     * fresh connection will be in;</li>
     * <li>{@code statement_ids}: the open ids span more than {@link #MAX_REPLAYED_PREPARES}.</li>
     * </ul>
     *
     * @param schema the session's current database, or null
     */
    public String reasonNotMovable(String schema) {
        if (lost || !preparing.isEmpty()) {
            return "prepared_statement";
        }
        if (open.isEmpty()) {
            return null;
        }
        long lowest = Long.MAX_VALUE;
        long highest = -1;
        String reason = null;
        for (Statement statement : open.values()) {
            if (statement.sql == null) {
                return "prepared_statement";
            }
            if (statement.longData) {
                reason = "long_data";
            } else if (statement.cursor && reason == null) {
                reason = "cursor";
            } else if (!Objects.equals(statement.schema, schema) && reason == null) {
                reason = "statement_schema";
            }
            lowest = Math.min(lowest, statement.id);
            highest = Math.max(highest, statement.id);
        }
        if (reason == null && highest - lowest + 1 > MAX_REPLAYED_PREPARES) {
            reason = "statement_ids";
        }
        return reason;
    }

    /**
     * What to send a fresh connection so that it holds the same statements under the same ids, or null if no
     * statement is open. Call it only when {@link #reasonNotMovable(String)} is null, after the fresh connection got
     * the session's character set, variables and database (the texts are parsed in them).
     *
     * @param capabilities the capabilities the fresh connection negotiated (CLIENT_DEPRECATE_EOF decides how answers
     *                     end)
     */
    public StatementReplay replay(int capabilities) {
        if (lost || !preparing.isEmpty()) {
            throw new IllegalStateException("statements cannot be replayed while a prepare is unanswered or unread");
        }
        if (open.isEmpty()) {
            return null;
        }
        List<Statement> statements = new ArrayList<>(open.values());
        statements.sort(Comparator.comparingLong(s -> s.id));
        List<StatementReplay.Expected> expected = new ArrayList<>(statements.size());
        for (Statement statement : statements) {
            if (statement.sql == null) {
                throw new IllegalStateException("statement " + statement.id + " has no text to replay");
            }
            expected.add(new StatementReplay.Expected(statement.id, statement.sql, statement.params,
                    statement.columns));
        }
        return new StatementReplay(expected, capabilities);
    }

    /**
     * The session now runs on the connection a {@link #replay(int) replay} built: statements whose parameter types
     * were bound have them bound again by {@link #rewriteExecute} on their next execution. Cursors and pending long
     * data did not move (a session with them is not movable). On the new connection 0xFFFFFFFF names the statement
     * with the highest id, the one the replay prepared last; clients use it only in the same pipeline as its
     * COM_STMT_PREPARE (MariaDB Connector/J), which an idle session that moves has finished.
     */
    public void moved() {
        executing.clear();
        last = null;
        for (Statement statement : open.values()) {
            statement.rebind = statement.types != null && statement.params > 0;
            statement.cursor = false;
            statement.longData = false;
            if (last == null || statement.id > last.id) {
                last = statement;
            }
        }
    }

    /**
     * A COM_STMT_EXECUTE (or COM_STMT_BULK_EXECUTE) to send instead of {@code payload} (a whole command payload, not
     * consumed or released), or null if it can go as it is. After a {@link #moved() move}, the first execution of a
     * statement whose types were bound on the old connection must bind them again: when the client sends
     * new_params_bound_flag 0 (or a bulk execution without STMT_BULK_FLAG_SEND_TYPES), the new payload carries flag 1
     * and the remembered types. Call it before {@link #onClientCommand}, then pass that the payload that is sent.
     */
    public ByteBuf rewriteExecute(ByteBuf payload, ByteBufAllocator alloc) {
        int at = payload.readerIndex();
        int length = payload.readableBytes();
        if (length < 5) {
            return null;
        }
        int command = payload.getUnsignedByte(at);
        if (command != COM_STMT_EXECUTE && command != COM_STMT_BULK_EXECUTE) {
            return null;
        }
        Statement statement = statement(payload.getUnsignedIntLE(at + 1));
        if (statement == null || !statement.rebind || !statement.open()) {
            return null;
        }
        statement.rebind = false;
        if (command == COM_STMT_BULK_EXECUTE) {
            if (length < BULK_HEAD) {
                return null;
            }
            int flags = payload.getUnsignedShortLE(at + 5);
            if ((flags & STMT_BULK_FLAG_SEND_TYPES) != 0) {
                return null;
            }
            ByteBuf out = alloc.buffer(length + statement.types.length);
            out.writeBytes(payload, at, 5);
            out.writeShortLE(flags | STMT_BULK_FLAG_SEND_TYPES);
            out.writeBytes(statement.types);
            out.writeBytes(payload, at + BULK_HEAD, length - BULK_HEAD);
            return out;
        }
        int bound = boundFlagIndex(statement, at, length);
        if (bound < 0 || payload.getByte(bound) != 0) {
            return null; // the client binds the types itself
        }
        ByteBuf out = alloc.buffer(length + statement.types.length);
        out.writeBytes(payload, at, bound - at);
        out.writeByte(1); // new_params_bound_flag
        out.writeBytes(statement.types);
        out.writeBytes(payload, bound + 1, at + length - bound - 1);
        return out;
    }
}
