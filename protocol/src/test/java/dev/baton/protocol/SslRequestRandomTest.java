package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random SSLRequests, mostly the 32 bytes a client sends with a few changed, cut short or run long, read by
 * {@link HandshakeResponse41#decode}: nothing but {@link MalformedPacketException} is thrown, and a payload is an
 * SSLRequest exactly when it is 32 bytes of protocol 4.1 with CLIENT_SSL set. The seed is fixed so a failure
 * repeats; the message names the payload.
 */
class SslRequestRandomTest {
    private static final int PAYLOADS = 100_000;

    @Test
    void readsRandomSslRequestsWithNoOtherExceptionThanMalformedAndKnowsOneOnlyByItsShape() {
        Random random = new Random(20261127L);
        int requests = 0;
        int malformed = 0;
        for (int n = 0; n < PAYLOADS; n++) {
            byte[] payload = payload(random);
            String name = "payload " + n + ": " + HexFormat.of().formatHex(payload);
            ByteBuf buf = Unpooled.buffer(payload.length + 1).writeBytes(payload); // never the shared empty buffer
            try {
                HandshakeResponse41 response = HandshakeResponse41.decode(buf);
                int capabilities = payload.length >= 4 ? Unpooled.wrappedBuffer(payload).getIntLE(0) : 0;
                boolean shaped = payload.length == HandshakeResponse41.SSL_REQUEST_LENGTH
                        && (capabilities & CapabilityFlags.CLIENT_SSL) != 0;
                assertEquals(shaped, response.sslRequest(), name);
                requests += response.sslRequest() ? 1 : 0;
            } catch (MalformedPacketException e) {
                malformed++;
            } finally {
                assertTrue(buf.release(), name + ": the buffer is still referenced");
            }
        }
        assertTrue(requests > PAYLOADS / 10, "only " + requests + " SSLRequests");
        assertTrue(malformed > PAYLOADS / 10, "only " + malformed + " malformed payloads");
    }

    /** An SSLRequest with some bytes changed, a few bytes cut or added, or plain random bytes. */
    private static byte[] payload(Random random) {
        if (random.nextInt(6) == 0) {
            byte[] bytes = new byte[random.nextInt(64)];
            random.nextBytes(bytes);
            return bytes;
        }
        byte[] request = TestPackets.payload().int4(CapabilityFlags.CLIENT_PROTOCOL_41 | CapabilityFlags.CLIENT_SSL
                        | CapabilityFlags.CLIENT_PLUGIN_AUTH | CapabilityFlags.CLIENT_SECURE_CONNECTION | random.nextInt(1 << 9))
                .int4(random.nextInt()).int1(random.nextInt(256)).zeros(23).build();
        int length = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(request.length); // cut short
            case 1 -> request.length + 1 + random.nextInt(40); // runs long: a response's user name and more
            default -> request.length;
        };
        byte[] out = java.util.Arrays.copyOf(request, length);
        for (int i = request.length; i < length; i++) {
            out[i] = (byte) random.nextInt(256);
        }
        for (int changes = random.nextInt(3); changes > 0 && out.length > 0; changes--) {
            out[random.nextInt(out.length)] = (byte) random.nextInt(256);
        }
        return out;
    }
}
