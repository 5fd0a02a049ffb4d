package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random OK packets, mostly well-formed with a few bytes changed, read by {@link ResponseStatus#sessionChanges} and
 * {@link ResponseStatus#hideSessionState}: nothing but {@link MalformedPacketException} is thrown, no byte beyond
 * the head shown is read (the buffer ends there, so such a read would throw IndexOutOfBoundsException), and what a
 * complete head reports is what the whole packet reports. The seed is fixed so a failure repeats; the message
 * names the packet.
 */
class SessionChangesRandomTest {
    private static final int PACKETS = 100_000;

    @Test
    void readsRandomOkPacketsWithNoOtherExceptionThanMalformedAndNothingBeyondTheHead() {
        Random random = new Random(20261127L);
        int withVariables = 0;
        int cutShort = 0;
        for (int n = 0; n < PACKETS; n++) {
            byte[] payload = random.nextInt(5) == 0 ? randomBytes(random) : mutate(random, okPacket(random));
            if (payload.length == 0) {
                continue;
            }
            String name = "packet " + n + ": " + HexFormat.of().formatHex(payload);
            SessionChanges whole = read(payload, payload.length, name);
            int available = 1 + random.nextInt(payload.length);
            SessionChanges head = read(payload, available, name);
            withVariables += whole != null && !whole.variables().isEmpty() ? 1 : 0;
            cutShort += head != null && !head.complete() ? 1 : 0;
            if (head == null) {
                assertEquals(null, whole, name + ": the head is malformed, the whole packet is not");
            } else if (head.complete() && whole != null) {
                assertEquals(whole, head, name + ": the head and the whole packet disagree");
            }
            hide(payload, name);
        }
        assertTrue(withVariables > PACKETS / 10, "only " + withVariables + " packets reported variables");
        assertTrue(cutShort > PACKETS / 10, "only " + cutShort + " heads were cut short");
    }

    /** The changes read from the first {@code available} bytes of the packet, at an offset; null if malformed. */
    private static SessionChanges read(byte[] payload, int available, String name) {
        byte[] shown = new byte[3 + available];
        System.arraycopy(payload, 0, shown, 3, available);
        ByteBuf buf = Unpooled.wrappedBuffer(shown); // ends with the head: a read beyond it throws
        try {
            return ResponseStatus.sessionChanges(buf, 3, available, payload.length, CLIENT_SESSION_TRACK);
        } catch (MalformedPacketException e) {
            return null;
        } catch (RuntimeException e) {
            throw new AssertionError(name + " (" + available + " bytes shown): " + e, e);
        } finally {
            buf.release();
        }
    }

    private static void hide(byte[] payload, String name) {
        if (payload.length >= Packets.MAX_PAYLOAD) {
            return;
        }
        ByteBuf buf = Unpooled.wrappedBuffer(TestPackets.frame(7, payload));
        try {
            int length = ResponseStatus.hideSessionState(buf, 0);
            assertTrue(length <= payload.length, name + ": the packet grew to " + length);
            assertEquals(length, buf.getUnsignedMediumLE(0), name);
            int status = ResponseStatus.okStatus(buf, 4, length, length);
            assertEquals(0, status & SERVER_SESSION_STATE_CHANGED, name + ": the flag stays set");
        } catch (MalformedPacketException e) {
            // refused, as it should be
        } catch (RuntimeException e) {
            fail(name + ": hideSessionState threw " + e, e);
        } finally {
            buf.release();
        }
    }

    private static byte[] okPacket(Random random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(random.nextBoolean() ? 0x00 : 0xFE);
        lenenc(out, random, smallOrLarge(random));
        lenenc(out, random, smallOrLarge(random));
        int status = random.nextInt(0x10000) | (random.nextInt(4) == 0 ? 0 : SERVER_SESSION_STATE_CHANGED);
        out.write(status);
        out.write(status >>> 8);
        out.write(random.nextInt(256));
        out.write(0);
        if (random.nextInt(10) == 0) {
            return out.toByteArray(); // no info, no state
        }
        lenencString(out, random, random.nextInt(4) == 0 ? random.nextInt(300) : 0);
        ByteArrayOutputStream state = new ByteArrayOutputStream();
        int changes = random.nextInt(5);
        for (int i = 0; i < changes; i++) {
            int type = random.nextInt(7);
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            switch (type) {
                case 0 -> {
                    lenencString(data, random, 1 + random.nextInt(40));
                    lenencString(data, random, random.nextInt(4) == 0 ? 250 + random.nextInt(600) : random.nextInt(30));
                }
                case 1 -> lenencString(data, random, random.nextInt(70));
                case 2 -> lenencString(data, random, 1);
                default -> data.writeBytes(randomBytes(random));
            }
            state.write(type);
            lenenc(state, random, data.size());
            state.writeBytes(data.toByteArray());
        }
        lenenc(out, random, state.size());
        out.writeBytes(state.toByteArray());
        return out.toByteArray();
    }

    private static byte[] mutate(Random random, byte[] packet) {
        switch (random.nextInt(4)) {
            case 0:
                return packet;
            case 1:
                return Arrays.copyOf(packet, random.nextInt(packet.length + 1));
            case 2: {
                byte[] longer = Arrays.copyOf(packet, packet.length + 1 + random.nextInt(8));
                longer[packet.length] = (byte) random.nextInt(256);
                return longer;
            }
            default: {
                byte[] changed = packet.clone();
                for (int i = 1 + random.nextInt(3); i > 0 && changed.length > 0; i--) {
                    changed[random.nextInt(changed.length)] = (byte) random.nextInt(256);
                }
                return changed;
            }
        }
    }

    private static long smallOrLarge(Random random) {
        return switch (random.nextInt(5)) {
            case 0 -> random.nextInt(0x10000);
            case 1 -> random.nextInt(0x1000000);
            case 2 -> random.nextLong();
            default -> random.nextInt(251);
        };
    }

    /** int&lt;lenenc&gt;, sometimes in a longer form than needed (servers may). */
    private static void lenenc(ByteArrayOutputStream out, Random random, long value) {
        int form = value >= 0 && value < 251 && random.nextInt(8) != 0 ? 1
                : value >= 0 && value < 0x10000 ? 3 : value >= 0 && value < 0x1000000 ? 4 : 9;
        switch (form) {
            case 1 -> out.write((int) value);
            case 3 -> out.write(0xFC);
            case 4 -> out.write(0xFD);
            default -> out.write(0xFE);
        }
        for (int i = 0; i < form - 1; i++) {
            out.write((int) (value >>> (8 * i)));
        }
    }

    private static void lenencString(ByteArrayOutputStream out, Random random, int length) {
        lenenc(out, random, length);
        for (int i = 0; i < length; i++) {
            out.write('a' + random.nextInt(26));
        }
    }

    private static byte[] randomBytes(Random random) {
        byte[] bytes = new byte[random.nextInt(40)];
        random.nextBytes(bytes);
        return bytes;
    }
}
