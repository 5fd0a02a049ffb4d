package dev.baton.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

/**
 * Fails a test class when Netty reported a leaked buffer while it ran. Registered for every test class by
 * service loading; leaks surface only after a garbage collection, so it collects, then allocates to let the
 * detector poll its reference queue.
 */
public final class NoLeaksExtension implements AfterAllCallback {
    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (!nettyLoaded()) {
            return;
        }
        for (int round = 0; round < 3; round++) {
            System.gc();
            Thread.sleep(50);
            for (int i = 0; i < 64; i++) {
                ByteBuf a = PooledByteBufAllocator.DEFAULT.buffer(16);
                a.release();
                ByteBuf b = UnpooledByteBufAllocator.DEFAULT.buffer(16);
                b.release();
            }
        }
        List<String> leaks = RecordingLeakDetector.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " leaked buffer(s) in " + context.getDisplayName() + ":\n"
                    + String.join("\n", leaks));
        }
    }

    private static boolean nettyLoaded() {
        try {
            Class.forName("io.netty.buffer.ByteBuf", false, NoLeaksExtension.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
