package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.StatusFlags.SERVER_MORE_RESULTS_EXISTS;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_CURSOR_EXISTS;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_IN_TRANS;

/**
 * The state of one client session as read from the packets passing through it: the commands in flight (clients
 * may pipeline), whether the session is inside a transaction, its current database, and whether authentication
 * has finished. It reads only message starts handed to it by two {@link PacketScanner}s, one per direction.
 * Graceful switchover asks it one question: is this session {@link #isQuiet() quiet}?
 *
 * <p>The scanners that feed it should show at least 9 head bytes (a column count, a prepare answer's counts); an OK
 * packet's session state beyond the head bytes is simply not read. Only {@link #onServerMessage} throws, and only
 * {@link MalformedPacketException}.
 *
 * <p>Given a {@link SessionState}, it also keeps that up to date: the session changes of OK packets, and what client
 * commands show (COM_STMT_PREPARE, GET_LOCK, LOCK TABLES, XA in a query's head bytes, resets). Without one, it
 * allocates nothing per command, and with one nothing for commands that change no session state.
 *
 * <p>Not thread-safe: both directions of a session run on one event loop.
 */
public final class CommandTracker {

    /** What to do with a message the client sent. */
    public enum ClientVerdict {
        FORWARD,
        /** COM_QUIT: forward it and expect the server to close. */
        QUIT,
        /** Not a command Baton knows; answer ER_UNKNOWN_COM_ERROR. */
        UNKNOWN_COMMAND,
        /** A command whose sequence id is not 0; answer ER_NET_PACKETS_OUT_OF_ORDER. */
        OUT_OF_ORDER
    }

    /** Where the response to the oldest command in flight has got to. */
    private enum Stage { START, COLUMNS, COLUMNS_EOF, ROWS, PARAMS, PARAMS_EOF, PREPARED_COLUMNS, PREPARED_COLUMNS_EOF }

    /**
     * A command in flight; instances without a database to switch to and without session hints are shared.
     *
     * @param hints     {@link QueryHead} flags the OK packet's session changes are read with, or {@link #RESETS}
     * @param collation the collation a SET NAMES ... COLLATE names, or null
     */
    private record Pending(CommandType.Response response, String database, int hints, String collation) {
        private static final Pending[] SHARED = new Pending[CommandType.Response.values().length];
        private static final Pending[] SHARED_MAY_HIDE = new Pending[CommandType.Response.values().length];
        private static final Pending[] SHARED_STATEMENT = new Pending[CommandType.Response.values().length];
        /** COM_RESET_CONNECTION or COM_CHANGE_USER: success resets the session. */
        static final int RESETS = 1 << 30;
        /** COM_STMT_EXECUTE or COM_STMT_FETCH: its end tells {@link PreparedStatements} whether a cursor is open. */
        static final int STATEMENT = 1 << 29;

        static {
            for (CommandType.Response r : CommandType.Response.values()) {
                SHARED[r.ordinal()] = new Pending(r, null, 0, null);
                SHARED_MAY_HIDE[r.ordinal()] = new Pending(r, null, QueryHead.MAY_HIDE_STATE, null);
                SHARED_STATEMENT[r.ordinal()] = new Pending(r, null, STATEMENT, null);
            }
        }

        static Pending of(CommandType.Response response, String database, int hints, String collation) {
            if (database == null && collation == null) {
                if (hints == 0) {
                    return SHARED[response.ordinal()];
                }
                if (hints == QueryHead.MAY_HIDE_STATE) { // every query longer than the head bytes
                    return SHARED_MAY_HIDE[response.ordinal()];
                }
                if (hints == STATEMENT) {
                    return SHARED_STATEMENT[response.ordinal()];
                }
            }
            return new Pending(response, database, hints, collation);
        }
    }

    /** The hints of a query that the OK packet answering it is read with. */
    private static final int OK_HINTS = QueryHead.MAY_HIDE_STATE | QueryHead.SET_STATEMENT | QueryHead.SET_NAMES_COLLATE
            | QueryHead.TRACKING;

    private final int capabilities;
    private final boolean deprecateEof;
    private final SessionState session;
    private final PreparedStatements statements;
    /** Status flags of the EOF or OK packet read last in the current response; 0 after an ERR. */
    private int endFlags;
    /** Commands sent and not answered yet, oldest first. Sized for one: an idle session keeps it for its whole life
     * (the default capacity would hold 17 slots), and a client that pipelines grows it once. */
    private final ArrayDeque<Pending> inFlight = new ArrayDeque<>(1);
    private Stage stage = Stage.START;
    private long remaining;
    private int preparedColumns;
    private boolean clientSendsInfile;
    private boolean untracked;
    private CommandType lastCommand;
    private boolean authenticated;
    private boolean authFailed;
    private int status;
    private String database;
    private boolean sessionStateOk;

    /**
     * A tracker for a session whose handshake response has just been sent: the authentication exchange is the
     * first thing in flight.
     *
     * @param capabilities the negotiated capabilities (client's and server's in common)
     * @param database     the database named in the handshake response, or null
     */
    public CommandTracker(int capabilities, String database) {
        this(capabilities, database, null);
    }

    /**
     * A tracker that also keeps {@code session} up to date: OK packets feed it the server's tracked changes, client
     * commands the reasons the session cannot move ({@link SessionState}).
     *
     * @param capabilities the negotiated capabilities between Baton and the server; session changes are read only if
     *                     they include CLIENT_SESSION_TRACK
     * @param database     the database named in the handshake response, or null
     * @param session      the session's state to keep, or null not to track it
     */
    public CommandTracker(int capabilities, String database, SessionState session) {
        this(capabilities, database, session, null);
    }

    /**
     * A tracker that also keeps {@code session} and {@code statements} up to date: the server's answers to prepares,
     * executes and fetches feed {@code statements} (the client's commands are the caller's to hand it, whole), and a
     * COM_STMT_PREPARE no longer makes the session unmovable by itself.
     *
     * @param statements the session's prepared statements to keep, or null not to track them
     */
    public CommandTracker(int capabilities, String database, SessionState session, PreparedStatements statements) {
        this.capabilities = capabilities;
        this.deprecateEof = (capabilities & CLIENT_DEPRECATE_EOF) != 0;
        this.database = database;
        this.session = session;
        this.statements = statements;
        inFlight.add(Pending.of(CommandType.Response.AUTH, null, 0, null));
    }

    public boolean isAuthenticated() {
        return authenticated;
    }

    /** True once the server rejected the initial authentication. */
    public boolean authenticationFailed() {
        return authFailed;
    }

    /** True while the last status the server reported says a transaction is open. */
    public boolean inTransaction() {
        return (status & SERVER_STATUS_IN_TRANS) != 0;
    }

    /** The current database as far as the protocol has told, or null. */
    public String database() {
        return database;
    }

    public int commandsInFlight() {
        return inFlight.size();
    }

    /** True after a command whose response Baton cannot follow (a binlog stream): nothing is known any more. */
    public boolean untracked() {
        return untracked;
    }

    /**
     * Authenticated, no command in flight, no transaction open, state known: the session can be moved to another
     * backend or closed without the client losing work.
     */
    public boolean isQuiet() {
        return authenticated && inFlight.isEmpty() && !clientSendsInfile && !untracked && !inTransaction();
    }

    /**
     * True when the client's next message starts a command: the session is authenticated and tracked, and the client
     * is not sending a {@code LOCAL INFILE} file or auth data (whose packets may look like commands).
     */
    public boolean awaitsCommand() {
        Pending oldest = inFlight.peekFirst();
        return authenticated && !untracked && !clientSendsInfile
                && (oldest == null || oldest.response != CommandType.Response.AUTH);
    }

    /**
     * True if the message just given to {@link #onServerMessage} is an OK packet (0x00, or the 0xFE OK that ends a
     * result set under CLIENT_DEPRECATE_EOF) with SERVER_SESSION_STATE_CHANGED: the one kind of packet
     * {@link ResponseStatus#hideSessionState} must rewrite for a client that did not negotiate CLIENT_SESSION_TRACK.
     * Only the tracker can tell: a binary row or a COM_STMT_PREPARE_OK also starts with 0x00.
     */
    public boolean carriesSessionState() {
        return sessionStateOk;
    }

    /** The command the last client message started, or null if it started none (auth data, file data, garbage). */
    public CommandType lastCommand() {
        return lastCommand;
    }

    /**
     * Reads the start of a message from the client, as a {@link PacketScanner.Listener} is handed it: {@code available}
     * is at least {@code min(length, head bytes)}. Never throws: what the client sends is either a command this
     * tracker knows, or one it answers with a verdict.
     */
    public ClientVerdict onClientMessage(int sequenceId, int length, ByteBuf buf, int index, int available) {
        lastCommand = null;
        if (untracked) {
            return ClientVerdict.FORWARD;
        }
        if (clientSendsInfile) {
            if (length == 0) {
                clientSendsInfile = false; // the empty packet ends the file; the server answers OK or ERR
            }
            return ClientVerdict.FORWARD;
        }
        Pending oldest = inFlight.peekFirst();
        if (oldest != null && oldest.response == CommandType.Response.AUTH) {
            return ClientVerdict.FORWARD; // auth switch response or more auth data
        }
        if (length == 0) {
            return ClientVerdict.UNKNOWN_COMMAND;
        }
        CommandType command = CommandType.of(buf.getUnsignedByte(index));
        if (command == null) {
            return ClientVerdict.UNKNOWN_COMMAND;
        }
        if (sequenceId != 0) {
            return ClientVerdict.OUT_OF_ORDER;
        }
        lastCommand = command;
        switch (command.response()) {
            case NONE:
                return command == CommandType.QUIT ? ClientVerdict.QUIT : ClientVerdict.FORWARD;
            case STREAM:
                untracked = true;
                return ClientVerdict.FORWARD;
            default:
                // A name is trusted only when the whole command was seen; a cut-off name would be a wrong one.
                String database = available == length ? databaseChange(command, buf, index, available) : null;
                int hints = statements != null && (command == CommandType.STMT_EXECUTE || command == CommandType.STMT_FETCH)
                        ? Pending.STATEMENT : 0;
                String collation = null;
                if (session != null && hints == 0) {
                    hints = sessionHints(command, buf, index, available, length);
                    if ((hints & QueryHead.SET_NAMES_COLLATE) != 0) {
                        collation = QueryHead.collation(buf, index + 1, index + available, available == length);
                    }
                }
                inFlight.addLast(Pending.of(command.response(), database == null || database.isEmpty() ? null : database,
                        hints, collation));
                return ClientVerdict.FORWARD;
        }
    }

    /** Tells the session state what the command's head shows; returns the hints its OK packets are read with. */
    private int sessionHints(CommandType command, ByteBuf buf, int index, int available, int length) {
        switch (command) {
            case QUERY: {
                int hints = QueryHead.classify(buf, index + 1, index + available);
                if (available < length) {
                    hints |= QueryHead.MAY_HIDE_STATE; // what the rest of the statement changes is not known
                }
                session.onQuery(hints);
                return hints & OK_HINTS;
            }
            case STMT_PREPARE:
                if (statements == null) {
                    session.onPrepare();
                }
                return 0;
            case RESET_CONNECTION:
            case CHANGE_USER:
                return Pending.RESETS;
            default:
                return 0;
        }
    }

    /** The database a command switches to if it succeeds: COM_INIT_DB, {@code USE db}, COM_CHANGE_USER. */
    private String databaseChange(CommandType command, ByteBuf buf, int index, int available) {
        int end = index + available;
        switch (command) {
            case INIT_DB:
                return buf.toString(index + 1, available - 1, StandardCharsets.UTF_8);
            case QUERY:
                return UseStatement.database(buf, index + 1, end);
            case CHANGE_USER: {
                int at = buf.indexOf(index + 1, end, (byte) 0); // user
                if (at < 0 || at + 1 >= end) {
                    return null;
                }
                at++;
                if ((capabilities & CLIENT_SECURE_CONNECTION) != 0) {
                    at += 1 + buf.getUnsignedByte(at); // auth_plugin_data_len, auth_plugin_data
                } else {
                    at = buf.indexOf(at, end, (byte) 0) + 1;
                    if (at <= 0) {
                        return null;
                    }
                }
                int nul = at < end ? buf.indexOf(at, end, (byte) 0) : -1;
                return nul < 0 ? null : buf.toString(at, nul - at, StandardCharsets.UTF_8);
            }
            default:
                return null;
        }
    }

    /**
     * Reads the start of a message from the server, as a {@link PacketScanner.Listener} is handed it.
     *
     * @throws MalformedPacketException if the message cannot be what the server owes at this point (an OK packet
     *                                  whose lengths run past its end, say). The tracker then stops tracking: it is
     *                                  {@link #untracked()}, never {@link #isQuiet() quiet}, and reads nothing more.
     */
    public void onServerMessage(int sequenceId, int length, ByteBuf buf, int index, int available) {
        sessionStateOk = false;
        Pending oldest = inFlight.peekFirst();
        if (untracked || oldest == null || length == 0) {
            return; // an unsolicited packet, such as the ERR a server sends before closing a killed connection
        }
        try {
            onResponse(oldest, length, buf, index, available);
        } catch (MalformedPacketException e) {
            untracked = true;
            throw e;
        }
    }

    private void onResponse(Pending oldest, int length, ByteBuf buf, int index, int available) {
        endFlags = 0;
        int end = index + available;
        int first = buf.getUnsignedByte(index);
        switch (oldest.response) {
            case AUTH:
                if (first == 0x00) {
                    authenticated = true;
                    ok(oldest, buf, index, end, length);
                    complete();
                } else if (first == 0xFF) {
                    authFailed |= !authenticated;
                    complete();
                } // 0xFE AuthSwitchRequest and 0x01 AuthMoreData continue the exchange
                break;
            case SIMPLE:
                if (first == 0x00) {
                    ok(oldest, buf, index, end, length);
                } else if (first == 0xFE) {
                    eof(buf, index, end, length);
                }
                complete();
                break;
            case ONE_PACKET:
                complete();
                break;
            case RESULT:
                result(oldest, first, length, buf, index, end);
                break;
            case ROWS:
                rows(first, length, buf, index, end);
                break;
            case PREPARE:
                prepare(first, length, buf, index, end);
                break;
            case FIELD_LIST:
                if (first == 0xFF || isTerminator(first, length)) {
                    complete();
                }
                break;
            default:
                complete();
        }
    }

    private void result(Pending pending, int first, int length, ByteBuf buf, int index, int end) {
        switch (stage) {
            case START:
                if (first == 0x00) {
                    int flags = ok(pending, buf, index, end, length);
                    if ((flags & SERVER_MORE_RESULTS_EXISTS) == 0) {
                        complete();
                    }
                } else if (first == 0xFF) {
                    complete();
                } else if (first == 0xFB) {
                    clientSendsInfile = true; // LOCAL INFILE request: file data, then OK or ERR
                } else {
                    int size = Payloads.lenencSize(buf, index, end);
                    if (size < 0) {
                        throw new MalformedPacketException("result set header of " + length
                                + " bytes does not start with a length-encoded column count");
                    }
                    remaining = Payloads.lenencIntAt(buf, index); // column_count
                    if (remaining <= 0) {
                        throw new MalformedPacketException("result set header announces "
                                + Long.toUnsignedString(remaining) + " columns");
                    }
                    stage = Stage.COLUMNS;
                }
                break;
            case COLUMNS:
                if (--remaining == 0) {
                    stage = deprecateEof ? Stage.ROWS : Stage.COLUMNS_EOF;
                }
                break;
            case COLUMNS_EOF: {
                int flags = eof(buf, index, end, length);
                if ((flags & SERVER_STATUS_CURSOR_EXISTS) != 0) {
                    complete(); // rows come later, through COM_STMT_FETCH
                } else {
                    stage = Stage.ROWS;
                }
                break;
            }
            default:
                rows(first, length, buf, index, end);
        }
    }

    private void rows(int first, int length, ByteBuf buf, int index, int end) {
        if (first == 0xFF) {
            complete();
        } else if (isTerminator(first, length)) {
            int flags;
            if (deprecateEof) {
                if (session != null) {
                    Pending pending = inFlight.peekFirst();
                    applyChanges(pending, ResponseStatus.sessionChanges(buf, index, end - index, length, capabilities));
                }
                flags = okStatus(buf, index, end, length);
                sessionStateOk = (flags & SERVER_SESSION_STATE_CHANGED) != 0;
            } else {
                flags = eof(buf, index, end, length);
            }
            if ((flags & SERVER_MORE_RESULTS_EXISTS) != 0 && inFlight.peekFirst().response == CommandType.Response.RESULT) {
                stage = Stage.START;
            } else {
                complete();
            }
        }
    }

    private void prepare(int first, int length, ByteBuf buf, int index, int end) {
        switch (stage) {
            case START:
                if (statements != null) {
                    statements.onPrepareAnswer(buf, index, end - index, length, database);
                }
                if (first != 0x00) {
                    complete();
                    return;
                }
                if (length < 9) {
                    throw new MalformedPacketException("COM_STMT_PREPARE_OK of " + length + " bytes ends before num_params");
                }
                if (index + 9 > end) { // not shown: a scanner with fewer head bytes than the tracker needs
                    complete();
                    return;
                }
                preparedColumns = buf.getUnsignedShortLE(index + 5); // num_columns
                remaining = buf.getUnsignedShortLE(index + 7); // num_params
                if (remaining > 0) {
                    stage = Stage.PARAMS;
                } else {
                    preparedColumns();
                }
                break;
            case PARAMS:
                if (--remaining == 0) {
                    if (deprecateEof) {
                        preparedColumns();
                    } else {
                        stage = Stage.PARAMS_EOF;
                    }
                }
                break;
            case PARAMS_EOF:
                preparedColumns();
                break;
            case PREPARED_COLUMNS:
                if (--remaining == 0) {
                    if (deprecateEof) {
                        complete();
                    } else {
                        stage = Stage.PREPARED_COLUMNS_EOF;
                    }
                }
                break;
            default:
                complete();
        }
    }

    private void preparedColumns() {
        if (preparedColumns > 0) {
            remaining = preparedColumns;
            stage = Stage.PREPARED_COLUMNS;
        } else {
            complete();
        }
    }

    /** 0xFE starts an EOF packet (or, with CLIENT_DEPRECATE_EOF, an OK in its place) only in a short packet. */
    private boolean isTerminator(int first, int length) {
        return first == 0xFE && (deprecateEof ? length < Packets.MAX_PAYLOAD : length < 9);
    }

    private int ok(Pending pending, ByteBuf buf, int index, int end, int length) {
        String tracked; // first: it may throw
        if (session == null) {
            tracked = ResponseStatus.trackedSchema(buf, index, end - index, length, capabilities);
        } else {
            SessionChanges changes = ResponseStatus.sessionChanges(buf, index, end - index, length, capabilities);
            tracked = changes.schema();
            applyChanges(pending, changes);
        }
        int flags = okStatus(buf, index, end, length);
        sessionStateOk = (flags & SERVER_SESSION_STATE_CHANGED) != 0;
        if (statements != null && (pending.hints & Pending.RESETS) != 0) {
            statements.reset();
        }
        if (pending.database != null) {
            database = pending.database;
        }
        if (tracked != null) {
            database = tracked;
        }
        return flags;
    }

    /**
     * True when the next server message starts the answer to a COM_STMT_PREPARE (COM_STMT_PREPARE_OK or ERR): a
     * relay that translates statement ids rewrites it before {@link #onServerMessage} reads it.
     */
    public boolean awaitsPrepareAnswer() {
        Pending oldest = inFlight.peekFirst();
        return !untracked && oldest != null && oldest.response == CommandType.Response.PREPARE && stage == Stage.START;
    }

    private void applyChanges(Pending pending, SessionChanges changes) {
        if ((pending.hints & Pending.RESETS) != 0) {
            session.reset();
        } else if (changes != SessionChanges.NONE || pending.hints != 0) {
            session.apply(changes, pending.hints, pending.collation);
        }
    }

    private int okStatus(ByteBuf buf, int index, int end, int length) {
        int flags = ResponseStatus.okStatus(buf, index, end - index, length);
        if (flags >= 0) {
            status = flags;
            endFlags = flags;
        }
        return Math.max(flags, 0);
    }

    private int eof(ByteBuf buf, int index, int end, int length) {
        int flags = ResponseStatus.eofStatus(buf, index, end - index, length);
        if (flags >= 0) {
            status = flags;
            endFlags = flags;
        }
        return Math.max(flags, 0);
    }

    private void complete() {
        Pending done = inFlight.pollFirst();
        if (done != null && (done.hints & Pending.STATEMENT) != 0) {
            statements.onStatementAnswer(endFlags);
        }
        stage = Stage.START;
        remaining = 0;
    }
}
