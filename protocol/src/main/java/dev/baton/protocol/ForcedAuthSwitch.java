package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;

/**
 * Rewrites a client's Protocol::HandshakeResponse41
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_response.html)
 * so that the server answers it with a Protocol::AuthSwitchRequest naming the account's own plugin and carrying
 * the server's own scramble: the auth response is emptied and the client plugin is replaced by
 * {@link #PLUGIN}, a name no account uses. A client greeted by a proxy, before the proxy had a server connection,
 * answered the proxy's scramble; after the switch it answers the server's.
 */
public final class ForcedAuthSwitch {
    /**
     * A client plugin name no server implements. MariaDB and MySQL answer any client plugin other than the
     * account's with an AuthSwitchRequest; an unknown name can never be accepted in its place.
     */
    public static final String PLUGIN = "baton_auth_switch";

    private ForcedAuthSwitch() {
    }

    /**
     * The handshake response in {@code payload} (not consumed, not released) with the given capability flags,
     * an empty auth response and {@link #PLUGIN} as its client plugin; user, database, connection attributes and
     * anything after them are copied unchanged.
     *
     * @param capabilities        the client flags to send, in place of the ones in {@code payload}
     * @param mariadbCapabilities MariaDB extended client flags to send (only used when {@code capabilities}
     *                            has {@link CapabilityFlags#CLIENT_MYSQL} unset)
     * @throws MalformedPacketException if the response is not a well-formed HandshakeResponse41
     */
    public static ByteBuf handshakeResponse(ByteBuf payload, int capabilities, int mariadbCapabilities, ByteBufAllocator alloc) {
        return handshakeResponse(payload, capabilities, mariadbCapabilities, alloc, null);
    }

    /**
     * The same, logging in as {@code user} instead of the user named in {@code payload} (a session that changed user
     * with COM_CHANGE_USER logs in again as its new user); null keeps the payload's.
     */
    public static ByteBuf handshakeResponse(ByteBuf payload, int capabilities, int mariadbCapabilities, ByteBufAllocator alloc,
                                            String user) {
        ByteBuf in = payload.duplicate();
        int original = HandshakeResponse41.decode(in.duplicate()).capabilities();
        Payloads.require(in, HandshakeResponse41.SSL_REQUEST_LENGTH, "the end of the fixed handshake response fields");
        ByteBuf out = alloc.buffer(in.readableBytes() + PLUGIN.length() + 2);
        try {
            out.writeIntLE(capabilities); // client_flag
            out.writeBytes(in, in.readerIndex() + 4, 24); // max_packet_size, character_set, filler
            out.writeIntLE((capabilities & CLIENT_MYSQL) == 0 ? mariadbCapabilities : 0); // MariaDB extended capabilities
            in.skipBytes(HandshakeResponse41.SSL_REQUEST_LENGTH);
            byte[] username = Payloads.readNulBytes(in);
            out.writeBytes(user == null ? username : user.getBytes(java.nio.charset.StandardCharsets.UTF_8)).writeByte(0);
            if ((original & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) != 0) {
                Payloads.readLenencBytes(in); // auth_response
            } else if ((original & CLIENT_SECURE_CONNECTION) != 0) {
                int length = in.readUnsignedByte();
                in.skipBytes(length);
            } else {
                Payloads.readNulBytes(in);
            }
            out.writeByte(0); // auth_response: empty (a zero lenenc or one-byte length, or a lone NUL)
            if ((original & CLIENT_CONNECT_WITH_DB) != 0) {
                byte[] database = in.isReadable() ? Payloads.readNulBytes(in) : new byte[0];
                if ((capabilities & CLIENT_CONNECT_WITH_DB) != 0) {
                    out.writeBytes(database).writeByte(0); // database
                }
            }
            if ((original & CLIENT_PLUGIN_AUTH) != 0 && in.isReadable()) {
                int nul = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) 0);
                in.readerIndex(nul < 0 ? in.writerIndex() : nul + 1); // client_plugin_name
            }
            Payloads.writeNulString(out, PLUGIN); // client_plugin_name
            out.writeBytes(in); // connection attributes and whatever follows, unchanged
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e instanceof IndexOutOfBoundsException ? new MalformedPacketException("handshake response ends early") : e;
        }
    }
}
