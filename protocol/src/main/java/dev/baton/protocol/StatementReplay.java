package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;

import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;

/**
 * Prepares, on a fresh connection, the statements a session holds open under the very ids the client knows, from
 * {@link PreparedStatements#replay(int)}. A fresh connection hands out ids from wherever its server thread's counter
 * stands (see {@link PreparedStatements}), so the replay runs in two steps:
 * <ol>
 * <li>{@link #start}: one COM_STMT_PREPARE of the open statement with the lowest id L. Its answer tells the fresh
 * connection's next id p: p = L is that statement already; p &lt; L is a spare statement closed again; p &gt; L
 * cannot be replayed on this connection (ids only grow), a {@link #mismatch()}. A caller may then try another fresh
 * connection while it still holds this one, so the server gives it another thread.</li>
 * <li>Then, pipelined in one buffer: for each id from p + 1 to the highest open one, the statement's text if that id
 * is open, or {@code DO 0} and a COM_STMT_CLOSE (which has no answer) if not.</li>
 * </ol>
 * Each answer must be COM_STMT_PREPARE_OK with the expected id and, for a real statement, the parameter and column
 * counts the old connection gave; any other answer (an ERR: a table gone on the new server, say) is a mismatch, after
 * which the connection must not be used for the session.
 *
 * <p>The caller sends what {@link #start} returns, then reads the connection's packets one by one, handing each
 * payload to {@link #onPacket} and sending whatever it returns, until {@link #done()} or {@link #mismatch()}. Every
 * packet is framed with sequence id 0, as commands are. Not thread-safe.
 */
public final class StatementReplay {
    private static final byte[] SPARE = "DO 0".getBytes(StandardCharsets.US_ASCII);
    private static final int COM_STMT_PREPARE = 0x16;
    private static final int COM_STMT_CLOSE = 0x19;

    /** An open statement of the old connection, as its COM_STMT_PREPARE_OK described it. */
    record Expected(long id, byte[] sql, int params, int columns) {
    }

    /** An answer still to read: the id it must carry, and the statement it must match (null for a spare). */
    private record Answer(long id, Expected statement) {
    }

    private final List<Expected> statements;
    private final boolean deprecateEof;
    private final ArrayDeque<Answer> answers = new ArrayDeque<>();
    private boolean started;
    /** The probe's answer is awaited: it tells where the fresh connection's ids stand. */
    private boolean probing;
    /** Definition packets (and EOFs) left of the answer being read. */
    private int packetsLeft;
    private String mismatch;
    private int prepares;
    private long offset;

    StatementReplay(List<Expected> statements, int capabilities) {
        if (statements.isEmpty()) {
            throw new IllegalArgumentException("nothing to replay");
        }
        this.statements = statements;
        this.deprecateEof = (capabilities & CLIENT_DEPRECATE_EOF) != 0;
    }

    /** The first command to send: the COM_STMT_PREPARE of the open statement with the lowest id. */
    public ByteBuf start(ByteBufAllocator alloc) {
        if (started) {
            throw new IllegalStateException("the replay has started");
        }
        started = true;
        probing = true;
        prepares = 1;
        ByteBuf out = alloc.buffer();
        prepare(out, statements.get(0).sql());
        return out;
    }

    /**
     * One whole packet's payload from the fresh connection (not consumed or released). Returns framed commands to send
     * now (the rest of the replay, after the first answer), or null.
     *
     * @throws IllegalStateException if the replay has not started, or is {@link #done()} or failed
     */
    public ByteBuf onPacket(ByteBuf payload, ByteBufAllocator alloc) {
        if (!started || mismatch != null || done()) {
            throw new IllegalStateException(mismatch != null ? "the replay failed: " + mismatch
                    : started ? "the replay is done" : "the replay has not started");
        }
        if (packetsLeft > 0) {
            packetsLeft--; // a parameter or column definition, or the EOF after them
            return null;
        }
        int at = payload.readerIndex();
        int length = payload.readableBytes();
        if (length == 0 || payload.getUnsignedByte(at) != 0x00 || length < 9) {
            mismatch = describe(payload);
            return null;
        }
        long id = payload.getUnsignedIntLE(at + 1); // statement_id
        int columns = payload.getUnsignedShortLE(at + 5); // num_columns
        int params = payload.getUnsignedShortLE(at + 7); // num_params
        packetsLeft = params + columns;
        if (!deprecateEof) {
            packetsLeft += (params > 0 ? 1 : 0) + (columns > 0 ? 1 : 0);
        }
        if (probing) {
            probing = false;
            return afterProbe(id, params, columns, alloc);
        }
        Answer answer = answers.pollFirst();
        check(answer.id(), answer.statement(), id, params, columns);
        return null;
    }

    private ByteBuf afterProbe(long first, int params, int columns, ByteBufAllocator alloc) {
        Expected lowest = statements.get(0);
        Expected highest = statements.get(statements.size() - 1);
        if (highest.id() - Math.min(first, lowest.id()) + 1 > PreparedStatements.MAX_REPLAYED_PREPARES) {
            mismatch = "the new connection's statement ids stand at " + first + ": reaching statement " + highest.id()
                    + " would take more than " + PreparedStatements.MAX_REPLAYED_PREPARES + " prepares";
            return null;
        }
        boolean probeIsLowest = first >= lowest.id();
        if (probeIsLowest) {
            // Ids already past the session's lowest: every statement gets its id plus the difference, which the
            // relay adds to the client's ids and takes off the server's ({@link #offset()}).
            offset = first - lowest.id();
            check(first, lowest, first, params, columns);
            if (mismatch != null) {
                return null;
            }
        }
        ByteBuf out = alloc.buffer();
        if (!probeIsLowest) {
            close(out, first); // a spare: ids below the session's lowest are filled
        }
        int next = probeIsLowest ? 1 : 0;
        for (long id = probeIsLowest ? lowest.id() + 1 : first + 1; id <= highest.id(); id++) {
            long serverId = id + offset;
            Expected statement = statements.get(next);
            if (statement.id() == id) {
                prepare(out, statement.sql());
                answers.addLast(new Answer(serverId, statement));
                next++;
            } else {
                prepare(out, SPARE);
                close(out, serverId);
                answers.addLast(new Answer(serverId, null));
            }
            prepares++;
        }
        return out;
    }

    /**
     * What the new connection's statement ids exceed the session's by: 0 when the replay could give every statement
     * its own id, else the client's ids must be raised by it on the way to the server, and the server's lowered on
     * the way back. Known once the probe is answered.
     */
    public long offset() {
        return offset;
    }

    private void check(long expectedId, Expected statement, long id, int params, int columns) {
        if (id != expectedId) {
            mismatch = "the new connection gave statement id " + id + " where " + expectedId + " was due";
        } else if (statement == null ? params != 0 || columns != 0
                : params != statement.params() || columns != statement.columns()) {
            mismatch = "statement " + id + " has " + params + " parameters and " + columns + " columns on the new "
                    + "connection, " + (statement == null ? 0 : statement.params()) + " and "
                    + (statement == null ? 0 : statement.columns()) + " on the old one";
        }
    }

    private static String describe(ByteBuf payload) {
        if (payload.isReadable() && payload.getUnsignedByte(payload.readerIndex()) == ErrPacket.HEADER) {
            try {
                ErrPacket err = ErrPacket.decode(payload.duplicate());
                return "the new connection refused a statement: " + err.errorCode() + " (" + err.sqlState() + ") "
                        + err.message();
            } catch (MalformedPacketException e) {
                return "the new connection answered a prepare with a malformed ERR packet";
            }
        }
        return "the new connection answered a prepare with a packet of " + payload.readableBytes()
                + " bytes that is no COM_STMT_PREPARE_OK";
    }

    private static void prepare(ByteBuf out, byte[] sql) {
        ByteBuf payload = out.alloc().buffer(sql.length + 1);
        payload.writeByte(COM_STMT_PREPARE).writeBytes(sql);
        try {
            Packets.writeFramed(out, 0, payload);
        } finally {
            payload.release();
        }
    }

    private static void close(ByteBuf out, long id) {
        out.writeMediumLE(5).writeByte(0).writeByte(COM_STMT_CLOSE).writeIntLE((int) id);
    }

    /** Every answer has been read and matched: the fresh connection holds the session's statements. */
    public boolean done() {
        return started && !probing && mismatch == null && answers.isEmpty() && packetsLeft == 0;
    }

    /** Why the replay failed, or null while it has not. */
    public String mismatch() {
        return mismatch;
    }

    /** How many COM_STMT_PREPAREs the replay has sent (the probe included). */
    public int prepares() {
        return prepares;
    }
}
