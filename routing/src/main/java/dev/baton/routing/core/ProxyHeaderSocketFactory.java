package dev.baton.routing.core;

import com.mysql.cj.conf.PropertySet;
import com.mysql.cj.protocol.StandardSocketFactory;
import dev.baton.routing.ProxyProtocolVersion;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * Connector/J's plain socket with a PROXY protocol header written right after connect, before the server's greeting
 * is read, naming the socket's own local address: a server that trusts Baton's address then sees a proxied
 * connection from Baton itself. Connector/J makes its socket factory by class name, so each version is a class:
 * {@link V1} and {@link V2}.
 */
public abstract class ProxyHeaderSocketFactory extends StandardSocketFactory {
    private final ProxyProtocolVersion version;

    ProxyHeaderSocketFactory(ProxyProtocolVersion version) {
        this.version = version;
    }

    /** The {@code socketFactory} connection property that sends {@code version}'s header. */
    static String className(ProxyProtocolVersion version) {
        return switch (version) {
            case OFF -> throw new IllegalArgumentException("no header is sent when the PROXY protocol is off");
            case V1 -> V1.class.getName();
            case V2 -> V2.class.getName();
        };
    }

    @Override
    public <T extends Closeable> T connect(String host, int port, PropertySet props, int loginTimeout) throws IOException {
        T connected = super.connect(host, port, props, loginTimeout);
        Socket socket = rawSocket;
        socket.getOutputStream().write(ProxyHeader.of(version, (InetSocketAddress) socket.getLocalSocketAddress(),
                (InetSocketAddress) socket.getRemoteSocketAddress()));
        socket.getOutputStream().flush();
        return connected;
    }

    /** Sends a version 1 header. */
    public static final class V1 extends ProxyHeaderSocketFactory {
        public V1() {
            super(ProxyProtocolVersion.V1);
        }
    }

    /** Sends a version 2 header. */
    public static final class V2 extends ProxyHeaderSocketFactory {
        public V2() {
            super(ProxyProtocolVersion.V2);
        }
    }
}
