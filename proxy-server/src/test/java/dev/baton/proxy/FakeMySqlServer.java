package dev.baton.proxy;

import dev.baton.protocol.TestPackets;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.routing.HostPort;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A MySQL server of a few dozen lines on loopback, for what no real server does: it greets, accepts any login and
 * answers each command with the payloads a test chooses. Blocking sockets, one thread per connection.
 */
final class FakeMySqlServer implements AutoCloseable {

    /** The payloads answering one command, sent with sequence ids 1, 2, ... */
    interface Answers {
        List<byte[]> to(String command);
    }

    /** OK_Packet: no rows affected, no insert id, SERVER_STATUS_AUTOCOMMIT, no warnings. */
    static final byte[] OK = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};

    static final int CAPABILITIES = CapabilityFlags.CLIENT_MYSQL | CapabilityFlags.CLIENT_LONG_FLAG
            | CapabilityFlags.CLIENT_PROTOCOL_41 | CapabilityFlags.CLIENT_TRANSACTIONS
            | CapabilityFlags.CLIENT_SECURE_CONNECTION | CapabilityFlags.CLIENT_MULTI_RESULTS
            | CapabilityFlags.CLIENT_PLUGIN_AUTH | CapabilityFlags.CLIENT_SESSION_TRACK;

    private final ServerSocket server;
    private final Answers answers;
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final AtomicInteger open = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong bytesSent = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicInteger threadIds = new AtomicInteger(100);
    /** Every command payload received, on any connection, in arrival order. */
    final List<byte[]> commands = new CopyOnWriteArrayList<>();

    FakeMySqlServer(Answers answers) throws IOException {
        this.answers = answers;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "fake-mysql-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A server that answers every command with OK. */
    static FakeMySqlServer answeringOk() throws IOException {
        return new FakeMySqlServer(command -> List.of(OK));
    }

    HostPort address() {
        return new HostPort("127.0.0.1", server.getLocalPort());
    }

    /** Bytes written to all connections so far: it stops growing when Baton stops reading. */
    long bytesSent() {
        return bytesSent.get();
    }

    /** The thread id in the latest greeting this server sent. */
    int lastThreadId() {
        return threadIds.get();
    }

    /** Connections open to this server now (Baton's backend links). */
    int openConnections() {
        return open.get();
    }

    /** Closes every connection open now, as a server restart or a network cut would; new ones are still accepted. */
    void dropConnections() throws IOException {
        for (Socket s : connections) {
            s.close();
        }
    }

    /** Connections accepted so far, open or not. */
    int connectionsAccepted() {
        return connections.size();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                connections.add(socket);
                open.incrementAndGet();
                Thread t = new Thread(() -> serve(socket), "fake-mysql-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            write(out, 0, greeting(threadIds.incrementAndGet()));
            if (read(in) == null) {
                return;
            }
            write(out, 2, OK); // any login is good
            for (byte[] command = read(in); command != null && command.length > 0 && command[0] != 0x01; command = read(in)) {
                commands.add(command);
                String text = new String(command, 1, command.length - 1, StandardCharsets.UTF_8);
                int sequenceId = 1;
                for (byte[] payload : answers.to(text)) {
                    write(out, sequenceId++, payload);
                    bytesSent.addAndGet(4 + payload.length);
                }
            }
        } catch (IOException e) {
            // Baton closed the connection
        } finally {
            open.decrementAndGet();
        }
    }

    /** Protocol::HandshakeV10 with mysql_native_password and a fixed scramble; each connection its own thread id. */
    private static byte[] greeting(int threadId) {
        TestPackets.Writer b = TestPackets.payload();
        b.int1(10).nulString("10.11.0-fake").int4(threadId).string("abcdefgh").int1(0).int2(CAPABILITIES & 0xFFFF).int1(45)
                .int2(0x0002).int2(CAPABILITIES >>> 16).int1(21).zeros(10).string("ijklmnopqrst").int1(0)
                .nulString("mysql_native_password");
        return b.build();
    }

    static byte[] read(InputStream in) throws IOException {
        byte[] header = in.readNBytes(4);
        if (header.length < 4) {
            return null;
        }
        int length = (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
        byte[] payload = in.readNBytes(length);
        return payload.length < length ? null : payload;
    }

    static void write(OutputStream out, int sequenceId, byte[] payload) throws IOException {
        byte[] frame = new byte[4 + payload.length];
        frame[0] = (byte) payload.length;
        frame[1] = (byte) (payload.length >>> 8);
        frame[2] = (byte) (payload.length >>> 16);
        frame[3] = (byte) sequenceId;
        System.arraycopy(payload, 0, frame, 4, payload.length);
        out.write(frame);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : connections) {
            s.close();
        }
    }
}
