package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.ErrPacket;
import dev.baton.protocol.ForcedAuthSwitch;
import dev.baton.protocol.HandshakeV10;
import dev.baton.protocol.MalformedPacketException;
import dev.baton.protocol.NativePasswordProof;
import dev.baton.protocol.Packets;
import dev.baton.protocol.Payloads;
import dev.baton.protocol.StatementReplay;
import dev.baton.routing.Node;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Builds a session's new backend link on another node, in the background: connects, logs in as the session's user
 * with the client's own handshake response (rewritten as for the first login, {@link ForcedAuthSwitch}) and an answer
 * to the new server's scramble computed from {@code stage1} ({@link NativePasswordProof}), with TLS to the server as
 * configured ({@link BackendLink#login}), then runs the statements
 * that rebuild the session's state. It completes with the link, ready for the session to swap in and relay, or with a
 * {@link NotMoved} naming why not; the link is closed then.
 *
 * <p>Runs on the session's event loop.
 */
final class SessionMove implements BackendLink.Listener {
    private static final String NATIVE = "mysql_native_password";

    /** Why a session was not moved: {@code reason} is a metric label, {@code detail} is for logs and events. */
    static final class NotMoved extends RuntimeException {
        final String reason;

        NotMoved(String reason, String detail) {
            super(detail, null, false, false);
            this.reason = reason;
        }
    }

    /**
     * What logging in again needs.
     *
     * @param handshake           the client's handshake response payload, as it sent it
     * @param capabilities        the client flags the first login sent the server
     * @param mariadbCapabilities the MariaDB extended flags it sent
     * @param answer              answers a server's scramble as the client would with its password
     * @param user                the user to log in as, when the session changed user since its handshake; else null
     */
    record Login(byte[] handshake, int capabilities, int mariadbCapabilities, java.util.function.UnaryOperator<byte[]> answer,
                 String user) {
        @Override
        public String toString() {
            return "Login[capabilities=0x" + Integer.toHexString(capabilities) + "]"; // never the proof
        }
    }

    private enum Step { GREETING, AUTH, REPLAY, STATEMENTS, DONE }

    private final CompletableFuture<BackendLink> result = new CompletableFuture<>();
    private final Login login;
    /** The framed commands that rebuild the session's state, in order. */
    private final ArrayDeque<ByteBuf> replay = new ArrayDeque<>();
    private final BackendLink link;
    /** TLS to the new node, as for every server connection. */
    private final ServerTlsContext tls;
    /** Prepares the session's statements again, after the state replay; null when it has none. */
    private final StatementReplay statements;
    private Step step = Step.GREETING;
    private int sequence;
    private ScheduledFuture<?> deadline;

    private SessionMove(Node node, InetSocketAddress client, Login login, StatementReplay statements, ServerTlsContext tls) {
        this.login = login;
        this.tls = tls;
        this.statements = statements;
        this.link = BackendLink.to(node, this).proxyHeaderFrom(client);
    }

    /**
     * Starts building a link to {@code node}.
     *
     * @param client     the session's client, whom the link's PROXY protocol header names as the first link's did
     * @param statements the SQL statements that rebuild the session's state, in order
     * @param database   the database to make current after them, or null
     * @param prepared   prepares the session's server-side statements again, last; null when it has none
     * @param timeout    how long the whole move may take, from connect to the last statement's answer
     */
    static CompletableFuture<BackendLink> start(BatonProxy proxy, EventLoop loop, Node node, InetSocketAddress client,
                                                Login login,
                                                List<String> statements, String database, StatementReplay prepared,
                                                Duration timeout) {
        SessionMove move = new SessionMove(node, client, login, prepared, proxy.serverTls());
        ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        for (String sql : statements) {
            move.replay.add(ClientSession.query(alloc, sql));
        }
        if (database != null) {
            ByteBuf payload = alloc.buffer(1 + database.length() * 3);
            payload.writeByte(0x02); // COM_INIT_DB
            payload.writeCharSequence(database, StandardCharsets.UTF_8);
            move.replay.add(Packets.frame(alloc, 0, payload));
        }
        move.deadline = loop.schedule(() -> move.fail(move.step == Step.STATEMENTS ? "statement_replay"
                        : move.step == Step.REPLAY ? "replay_failed" : "connect_failed",
                "the move to " + node + " did not finish within " + timeout.toMillis() + " ms"), timeout.toMillis(),
                TimeUnit.MILLISECONDS);
        move.link.connect(proxy, loop, proxy.config().connectTimeout());
        return move.result;
    }

    @Override
    public void onPacket(BackendLink from, ByteBuf frame) {
        try {
            if (step == Step.DONE) {
                return;
            }
            sequence = Packets.sequenceId(frame);
            ByteBuf payload = Packets.payload(frame);
            int first = payload.isReadable() ? payload.getUnsignedByte(payload.readerIndex()) : -1;
            switch (step) {
                case GREETING -> greeting(payload, first);
                case AUTH -> auth(payload, first);
                case REPLAY -> replayed(payload, first);
                case STATEMENTS -> prepared(payload);
                default -> {
                }
            }
        } catch (MalformedPacketException | IndexOutOfBoundsException e) {
            fail(step == Step.STATEMENTS ? "statement_replay" : step == Step.REPLAY ? "replay_failed" : "login_refused", link.node()
                    + " sent an unexpected packet while Baton logged in again: " + e.getMessage());
        } finally {
            frame.release();
        }
    }

    private void greeting(ByteBuf payload, int first) {
        if (first == ErrPacket.HEADER) {
            fail("connect_failed", link.node() + " refused the connection: " + ErrPacket.decode(payload).message());
            return;
        }
        HandshakeV10 greeting = HandshakeV10.decode(payload.duplicate());
        HandshakeV10 server = greeting
                .withoutCapabilities(CapabilityFlags.UNSUPPORTED, CapabilityFlags.UNSUPPORTED_MARIADB);
        int missing = login.capabilities() & ~server.capabilities() & ~CapabilityFlags.CLIENT_MYSQL;
        int missingMariadb = (login.capabilities() & CapabilityFlags.CLIENT_MYSQL) == 0
                ? login.mariadbCapabilities() & ~server.mariadbCapabilities() : 0;
        if (missing != 0 || missingMariadb != 0) {
            fail("capabilities", link.node() + " does not offer capabilities the session uses (0x"
                    + Integer.toHexString(missing) + ", MariaDB 0x" + Integer.toHexString(missingMariadb) + ")");
            return;
        }
        link.greeted(server.connectionId());
        ByteBuf rewritten = ForcedAuthSwitch.handshakeResponse(Unpooled.wrappedBuffer(login.handshake()), login.capabilities(),
                login.mariadbCapabilities(), link.channel().alloc(), login.user());
        step = Step.AUTH;
        try {
            link.login(tls, greeting.capabilities(), sequence, rewritten); // with TLS as for the session's first login
        } catch (BackendLink.TlsRefused e) {
            fail("connect_failed", e.getMessage());
        }
    }

    private void auth(ByteBuf payload, int first) {
        switch (first) {
            case 0xFE -> {
                payload.skipBytes(1);
                String plugin = Payloads.readNulString(payload);
                if (!NATIVE.equals(plugin)) {
                    fail("auth_plugin", "the account now logs in with " + plugin + ", not " + NATIVE);
                    return;
                }
                byte[] data = new byte[payload.readableBytes()];
                payload.readBytes(data);
                byte[] answer = login.answer().apply(NativePasswordProof.seed(data));
                link.send(Packets.frame(link.channel().alloc(), sequence + 1, Unpooled.wrappedBuffer(answer)));
            }
            case 0x00 -> {
                step = Step.REPLAY;
                next();
            }
            case ErrPacket.HEADER -> fail("login_refused", link.node() + " refused the login: "
                    + ErrPacket.decode(payload).message());
            default -> fail("auth_plugin", link.node() + " asked for more authentication data than " + NATIVE + " sends");
        }
    }

    private void replayed(ByteBuf payload, int first) {
        if (first == ErrPacket.HEADER) {
            fail("replay_failed", link.node() + " refused a statement that rebuilds the session: "
                    + ErrPacket.decode(payload).message());
        } else if (first == 0x00) {
            next();
        } else {
            fail("replay_failed", link.node() + " answered a statement that rebuilds the session with a result set");
        }
    }

    /** One packet of the answers to the statement replay; more commands may follow it. */
    private void prepared(ByteBuf payload) {
        ByteBuf more = statements.onPacket(payload, link.channel().alloc());
        if (more != null) {
            link.send(more);
        }
        if (statements.mismatch() != null) {
            fail("statement_replay", link.node() + ": " + statements.mismatch());
        } else if (statements.done()) {
            complete();
        }
    }

    private void complete() {
        step = Step.DONE;
        deadline.cancel(false);
        result.complete(link);
    }

    /** Sends the next replay statement, then the statement replay, or completes. */
    private void next() {
        ByteBuf command = replay.poll();
        if (command != null) {
            link.send(command);
        } else if (statements != null) {
            step = Step.STATEMENTS;
            link.send(statements.start(link.channel().alloc()));
        } else {
            complete();
        }
    }

    @Override
    public void onBytes(BackendLink from, ByteBuf buf) {
        buf.release(); // the link stays framed until the session swaps it in
    }

    @Override
    public void onClosed(BackendLink from, String reason) {
        fail("connect_failed", reason);
    }

    private void fail(String reason, String detail) {
        if (step == Step.DONE) {
            return;
        }
        step = Step.DONE;
        if (deadline != null) {
            deadline.cancel(false);
        }
        for (ByteBuf b; (b = replay.poll()) != null; ) {
            b.release();
        }
        link.abandon();
        result.completeExceptionally(new NotMoved(reason, detail));
    }
}
