// Opens many idle, logged-in MySQL connections from one thread (java.nio Selector), for bench/idle-clients.sh.
//
//   java bench/IdleClients.java HOST PORT USER PASSWORD
//
// Reads commands from stdin, one a line, each starting with a tag the answer repeats ("TAG END" ends every answer):
//   TAG open COUNT CONCURRENCY  opens COUNT more connections, at most CONCURRENCY logging in at once; each one
//                               reads the greeting, sends HandshakeResponse41 (mysql_native_password), answers an
//                               AuthSwitchRequest with the proof over the new seed, and waits for the OK.
//                               Prints "TAG opened OK FAILED SECONDS" and the first errors.
//   TAG probe                   a fresh connection: login time and the round trip of one SELECT 1, in ms.
//   TAG status                  "TAG status OPEN CLOSED": idle connections still open and closed by the peer.
//   TAG close                   closes every idle connection.
// End of input closes everything and exits. Idle connections are read all the time, so one the peer closes is
// counted at once. No threads per connection: 10,000 connections cost this JVM a few MB.
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class IdleClients {
    static final int CLIENT_LONG_PASSWORD = 0x1, CLIENT_PROTOCOL_41 = 0x200, CLIENT_TRANSACTIONS = 0x2000,
            CLIENT_SECURE_CONNECTION = 0x8000, CLIENT_MULTI_RESULTS = 0x20000, CLIENT_PLUGIN_AUTH = 0x80000;
    static final String NATIVE = "mysql_native_password";

    final InetSocketAddress target;
    final String user;
    final byte[] password;
    final Selector selector;
    final List<Conn> idle = new ArrayList<>();
    int closedByPeer;

    IdleClients(InetSocketAddress target, String user, String password) throws IOException {
        this.target = target;
        this.user = user;
        this.password = password.getBytes(StandardCharsets.UTF_8);
        this.selector = Selector.open();
    }

    enum State { CONNECTING, GREETING, AUTH, IDLE, DONE }

    /** One connection: the login state machine, then idle. */
    final class Conn {
        final SocketChannel ch;
        State state = State.CONNECTING;
        ByteBuffer in = ByteBuffer.allocate(256);
        ByteBuffer out;
        String error;

        Conn(SocketChannel ch) {
            this.ch = ch;
        }

        /** Packets whole in {@code in}: handles each; returns false once the connection failed. */
        boolean onReadable() throws IOException {
            int n = ch.read(in);
            if (n < 0) {
                return fail(state == State.IDLE ? null : "closed by peer during login");
            }
            in.flip();
            try {
                while (in.remaining() >= 4) {
                    int len = (in.get(in.position()) & 0xFF) | (in.get(in.position() + 1) & 0xFF) << 8
                            | (in.get(in.position() + 2) & 0xFF) << 16;
                    if (in.remaining() < 4 + len) {
                        break;
                    }
                    int seq = in.get(in.position() + 3) & 0xFF;
                    byte[] payload = new byte[len];
                    in.position(in.position() + 4);
                    in.get(payload);
                    if (!onPacket(seq, payload)) {
                        return false;
                    }
                }
            } finally {
                in.compact();
            }
            if (!in.hasRemaining()) {
                in = ByteBuffer.allocate(in.capacity() * 2).put(in.flip());
            }
            return true;
        }

        boolean onPacket(int seq, byte[] p) throws IOException {
            switch (state) {
                case GREETING -> {
                    if ((p[0] & 0xFF) == 0xFF) {
                        return fail("ERR instead of greeting: " + errText(p));
                    }
                    // Protocol::HandshakeV10: version, server version NUL, thread id, auth-plugin-data-part-1 (8), ...
                    int i = 1;
                    while (p[i] != 0) {
                        i++;
                    }
                    i += 1 + 4;
                    byte[] seed = Arrays.copyOfRange(p, i, i + 8);
                    i += 8 + 1 + 2 + 1 + 2 + 2; // filler, capability lower, charset, status, capability upper
                    int dataLen = p[i] & 0xFF;
                    i += 1 + 10;
                    int part2 = Math.max(13, dataLen - 8) - 1; // without its trailing NUL
                    byte[] full = Arrays.copyOf(seed, 8 + part2);
                    System.arraycopy(p, i, full, 8, part2);
                    send(seq + 1, handshakeResponse(scramble(full)));
                    state = State.AUTH;
                }
                case AUTH -> {
                    int head = p[0] & 0xFF;
                    if (head == 0x00) {
                        state = State.IDLE;
                        return true;
                    }
                    if (head == 0xFF) {
                        return fail("login refused: " + errText(p));
                    }
                    if (head == 0xFE) { // Protocol::AuthSwitchRequest: plugin name NUL, plugin data (seed + NUL)
                        int i = 1;
                        while (p[i] != 0) {
                            i++;
                        }
                        String plugin = new String(p, 1, i - 1, StandardCharsets.US_ASCII);
                        if (!plugin.equals(NATIVE)) {
                            return fail("auth switch to unsupported plugin " + plugin);
                        }
                        int end = p.length > i + 1 && p[p.length - 1] == 0 ? p.length - 1 : p.length;
                        send(seq + 1, scramble(Arrays.copyOfRange(p, i + 1, end)));
                        return true;
                    }
                    return fail("unexpected packet 0x" + Integer.toHexString(head) + " during login");
                }
                case IDLE -> {
                    return fail("unexpected packet while idle: " + (p.length > 0 && (p[0] & 0xFF) == 0xFF ? errText(p) : "0x" + Integer.toHexString(p[0] & 0xFF)));
                }
                default -> throw new IllegalStateException(state.name());
            }
            return true;
        }

        void send(int seq, byte[] payload) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(4 + payload.length);
            b.put((byte) payload.length).put((byte) (payload.length >> 8)).put((byte) (payload.length >> 16)).put((byte) seq);
            b.put(payload).flip();
            ch.write(b);
            if (b.hasRemaining()) {
                out = b;
                ch.keyFor(selector).interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
            }
        }

        boolean fail(String why) {
            error = why;
            state = State.DONE;
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            return false;
        }
    }

    byte[] handshakeResponse(byte[] authResponse) {
        // Protocol::HandshakeResponse41
        byte[] name = user.getBytes(StandardCharsets.UTF_8);
        byte[] plugin = NATIVE.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(32 + name.length + 1 + 1 + authResponse.length + plugin.length + 1);
        int caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
                | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH;
        b.order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(caps).putInt(16 * 1024 * 1024).put((byte) 45).put(new byte[23]);
        b.put(name).put((byte) 0).put((byte) authResponse.length).put(authResponse).put(plugin).put((byte) 0);
        return b.array();
    }

    /** mysql_native_password: SHA1(password) XOR SHA1(seed + SHA1(SHA1(password))). */
    byte[] scramble(byte[] seed) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            byte[] stage1 = sha1.digest(password);
            byte[] stage2 = sha1.digest(stage1);
            sha1.update(seed, 0, Math.min(seed.length, 20));
            sha1.update(stage2);
            byte[] x = sha1.digest();
            for (int i = 0; i < x.length; i++) {
                x[i] ^= stage1[i];
            }
            return x;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String errText(byte[] p) {
        int code = (p[1] & 0xFF) | (p[2] & 0xFF) << 8;
        int msg = p.length > 3 && p[3] == '#' ? 9 : 3;
        return code + " " + new String(p, msg, p.length - msg, StandardCharsets.UTF_8);
    }

    /** Opens {@code count} connections, {@code concurrency} logging in at once; returns {ok, failed, errors...}. */
    List<String> open(int count, int concurrency) throws IOException {
        int started = 0, ok = 0, failed = 0, inFlight = 0;
        List<String> errors = new ArrayList<>();
        while (ok + failed < count) {
            while (inFlight < concurrency && started < count) {
                SocketChannel ch = SocketChannel.open();
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                Conn c = new Conn(ch);
                ch.register(selector, SelectionKey.OP_CONNECT, c);
                if (ch.connect(target)) {
                    c.state = State.GREETING;
                    ch.keyFor(selector).interestOps(SelectionKey.OP_READ);
                }
                started++;
                inFlight++;
            }
            selector.select(1000);
            for (SelectionKey key : selector.selectedKeys()) {
                Conn c = (Conn) key.attachment();
                State before = c.state;
                boolean alive;
                try {
                    alive = step(key, c);
                } catch (IOException e) {
                    alive = c.fail(e.toString());
                }
                if (before == State.IDLE) {
                    if (!alive) {
                        closedByPeer++;
                        idle.remove(c);
                    }
                    continue;
                }
                if (c.state == State.IDLE) {
                    ok++;
                    inFlight--;
                    idle.add(c);
                } else if (!alive) {
                    failed++;
                    inFlight--;
                    if (errors.size() < 5) {
                        errors.add(c.error);
                    }
                }
            }
            selector.selectedKeys().clear();
        }
        List<String> result = new ArrayList<>(List.of(String.valueOf(ok), String.valueOf(failed)));
        result.addAll(errors);
        return result;
    }

    boolean step(SelectionKey key, Conn c) throws IOException {
        if (!key.isValid()) {
            return c.fail("key cancelled");
        }
        if (key.isConnectable()) {
            c.ch.finishConnect();
            c.state = State.GREETING;
            key.interestOps(SelectionKey.OP_READ);
            return true;
        }
        if (key.isWritable() && c.out != null) {
            c.ch.write(c.out);
            if (!c.out.hasRemaining()) {
                c.out = null;
                key.interestOps(SelectionKey.OP_READ);
            }
        }
        return !key.isReadable() || c.onReadable();
    }

    /** Reads whatever the idle connections got (a close, normally nothing) for up to {@code millis}. */
    void poll(long millis) throws IOException {
        selector.select(Math.max(1, millis));
        for (SelectionKey key : selector.selectedKeys()) {
            Conn c = (Conn) key.attachment();
            boolean alive;
            try {
                alive = step(key, c);
            } catch (IOException e) {
                alive = c.fail(e.toString());
            }
            if (!alive && idle.remove(c)) {
                closedByPeer++;
            }
        }
        selector.selectedKeys().clear();
    }

    /** A fresh connection with blocking I/O: login time and one SELECT 1, in ms. */
    String probe() {
        try (java.net.Socket s = new java.net.Socket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(30_000);
            long t0 = System.nanoTime();
            s.connect(target, 30_000);
            var in = new java.io.DataInputStream(s.getInputStream());
            var out = s.getOutputStream();
            byte[][] pkt = new byte[1][];
            int seq = readPacket(in, pkt);
            byte[] g = pkt[0];
            int i = 1;
            while (g[i] != 0) {
                i++;
            }
            i += 5;
            byte[] seed = Arrays.copyOfRange(g, i, i + 8);
            i += 16;
            int dataLen = g[i] & 0xFF;
            i += 11;
            int part2 = Math.max(13, dataLen - 8) - 1;
            byte[] full = Arrays.copyOf(seed, 8 + part2);
            System.arraycopy(g, i, full, 8, part2);
            writePacket(out, seq + 1, handshakeResponse(scramble(full)));
            while (true) {
                seq = readPacket(in, pkt);
                byte[] p = pkt[0];
                if ((p[0] & 0xFF) == 0x00) {
                    break;
                }
                if ((p[0] & 0xFF) != 0xFE) {
                    return "probe failed: " + ((p[0] & 0xFF) == 0xFF ? errText(p) : "packet 0x" + Integer.toHexString(p[0] & 0xFF));
                }
                int j = 1;
                while (p[j] != 0) {
                    j++;
                }
                int end = p[p.length - 1] == 0 ? p.length - 1 : p.length;
                writePacket(out, seq + 1, scramble(Arrays.copyOfRange(p, j + 1, end)));
            }
            long t1 = System.nanoTime();
            byte[] query = "\u0003SELECT 1".getBytes(StandardCharsets.US_ASCII); // COM_QUERY
            writePacket(out, 0, query);
            // column count, column definition, (EOF), row, EOF/OK: read until the row and the terminator
            String row = null;
            while (true) {
                readPacket(in, pkt);
                byte[] p = pkt[0];
                int head = p[0] & 0xFF;
                if (head == 0xFF) {
                    return "probe failed: " + errText(p);
                }
                if (head == 0x01 && p.length == 2 && row == null) {
                    row = String.valueOf((char) p[1]); // the row "1": lenenc length 1, then '1'
                }
                if (head == 0xFE && p.length < 9 && row != null) {
                    break;
                }
            }
            long t2 = System.nanoTime();
            writePacket(out, 0, new byte[] {0x01}); // COM_QUIT
            return String.format("probe login_ms %.2f select1_ms %.3f result %s", (t1 - t0) / 1e6, (t2 - t1) / 1e6, row);
        } catch (IOException e) {
            return "probe failed: " + e;
        }
    }

    static int readPacket(java.io.DataInputStream in, byte[][] into) throws IOException {
        byte[] h = new byte[4];
        in.readFully(h);
        int len = (h[0] & 0xFF) | (h[1] & 0xFF) << 8 | (h[2] & 0xFF) << 16;
        into[0] = new byte[len];
        in.readFully(into[0]);
        return h[3] & 0xFF;
    }

    static void writePacket(java.io.OutputStream out, int seq, byte[] payload) throws IOException {
        byte[] b = new byte[4 + payload.length];
        b[0] = (byte) payload.length;
        b[1] = (byte) (payload.length >> 8);
        b[2] = (byte) (payload.length >> 16);
        b[3] = (byte) seq;
        System.arraycopy(payload, 0, b, 4, payload.length);
        out.write(b);
        out.flush();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: java IdleClients.java HOST PORT USER PASSWORD (commands on stdin)");
            System.exit(2);
        }
        IdleClients clients = new IdleClients(new InetSocketAddress(args[0], Integer.parseInt(args[1])), args[2], args[3]);
        var commands = new java.util.concurrent.LinkedBlockingQueue<String>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    commands.add(line.trim());
                }
            } catch (IOException ignored) {
                // end of input
            }
            commands.add("");
        }, "stdin");
        reader.setDaemon(true);
        reader.start();
        System.out.println("READY");
        System.out.flush();
        while (true) {
            String line = commands.poll();
            if (line == null) {
                clients.poll(200);
                continue;
            }
            if (line.isEmpty()) {
                break;
            }
            String[] w = line.split("\\s+");
            String tag = w[0];
            switch (w.length > 1 ? w[1] : "") {
                case "open" -> {
                    long t0 = System.nanoTime();
                    List<String> r = clients.open(Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                    System.out.printf("%s opened %s %s %.1f%n", tag, r.get(0), r.get(1), (System.nanoTime() - t0) / 1e9);
                    for (String e : r.subList(2, r.size())) {
                        System.out.println(tag + " error " + e);
                    }
                }
                case "probe" -> System.out.println(tag + " " + clients.probe());
                case "status" -> {
                    clients.poll(1);
                    System.out.println(tag + " status " + clients.idle.size() + " " + clients.closedByPeer);
                }
                case "close" -> {
                    for (Conn c : clients.idle) {
                        c.ch.close();
                    }
                    clients.idle.clear();
                }
                default -> System.out.println(tag + " unknown command: " + line);
            }
            System.out.println(tag + " END");
            System.out.flush();
        }
        for (Conn c : clients.idle) {
            c.ch.close();
        }
    }
}
