package dev.baton.proxy;

import dev.baton.routing.HostPort;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A server on loopback that plays one script against the first connection it accepts, packet by packet, and keeps
 * every packet it received: for conversations {@link FakeMySqlServer} does not hold (refused logins, other plugins,
 * answers a real server would only give when something is wrong). Blocking socket, one thread.
 */
final class ScriptedServer implements AutoCloseable {

    /** What the server does on its connection; an exception (or a failed assertion) fails {@link #played}. */
    interface Script {
        void play(Conversation conversation) throws Exception;
    }

    /** One packet as received: its sequence id and payload. */
    record Frame(int sequenceId, byte[] payload) {
    }

    private final ServerSocket server;
    private volatile Socket connection;
    /** Completes when the script has run to its end, exceptionally if it failed. */
    final CompletableFuture<Void> played = new CompletableFuture<>();
    /** Every packet received, in order. */
    final List<Frame> received = new CopyOnWriteArrayList<>();

    ScriptedServer(Script script) throws IOException {
        server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try (Socket socket = server.accept()) {
                connection = socket;
                socket.setSoTimeout(5000);
                script.play(new Conversation(socket));
                played.complete(null);
            } catch (Throwable e) {
                played.completeExceptionally(e);
            }
        }, "scripted-server-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    HostPort address() {
        return new HostPort("127.0.0.1", server.getLocalPort());
    }

    /** The connection the script plays on. */
    final class Conversation {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        private Conversation(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
        }

        void send(int sequenceId, byte[] payload) throws IOException {
            FakeMySqlServer.write(out, sequenceId, payload);
        }

        /**
         * Sends packets numbered from {@code firstSequenceId} in one write, as a server sends a short result set: a peer
         * that hangs up after the first one cannot make the rest fail.
         */
        void sendTogether(int firstSequenceId, byte[]... payloads) throws IOException {
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < payloads.length; i++) {
                FakeMySqlServer.write(all, firstSequenceId + i, payloads[i]);
            }
            out.write(all.toByteArray());
            out.flush();
        }

        /** The next packet; fails if the peer closes first or nothing comes within five seconds. */
        Frame receive() throws IOException {
            byte[] header = in.readNBytes(4);
            if (header.length < 4) {
                throw new IOException("the client closed the connection");
            }
            int length = (header[0] & 0xFF) | (header[1] & 0xFF) << 8 | (header[2] & 0xFF) << 16;
            byte[] payload = in.readNBytes(length);
            if (payload.length < length) {
                throw new IOException("the client closed the connection in a packet");
            }
            Frame frame = new Frame(header[3] & 0xFF, payload);
            received.add(frame);
            return frame;
        }

        /** Waits until the peer closes the connection; fails if it sends anything or is still open after five seconds. */
        void awaitClosedByPeer() throws IOException {
            try {
                int b = in.read();
                if (b >= 0) {
                    throw new AssertionError("expected the client to close the connection, got byte 0x" + Integer.toHexString(b));
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the client left the connection open", e);
            } catch (IOException reset) {
                // closed with a reset: closed all the same
            }
        }

        /** Stays silent until the peer closes the connection (or five seconds pass). */
        void silentUntilClosed() throws IOException {
            awaitClosedByPeer();
        }

        void close() throws IOException {
            socket.close();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Socket s = connection;
        if (s != null) {
            s.close();
        }
    }
}
