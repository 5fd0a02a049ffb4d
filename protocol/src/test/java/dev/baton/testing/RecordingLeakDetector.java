package dev.baton.testing;

import io.netty.util.ResourceLeakDetector;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Netty's leak detector, installed in every test JVM through {@code -Dio.netty.customResourceLeakDetector}, that
 * keeps each leak report so {@link NoLeaksExtension} can fail the test class that caused it.
 */
public final class RecordingLeakDetector<T> extends ResourceLeakDetector<T> {
    private static final List<String> REPORTS = new CopyOnWriteArrayList<>();

    public RecordingLeakDetector(Class<?> resourceType, int samplingInterval, long maxActive) {
        super(resourceType, samplingInterval, maxActive);
    }

    public RecordingLeakDetector(Class<?> resourceType, int samplingInterval) {
        super(resourceType, samplingInterval);
    }

    /** Reports taken since the last call, removed from the list. */
    public static List<String> drain() {
        List<String> copy = List.copyOf(REPORTS);
        REPORTS.removeAll(copy);
        return copy;
    }

    @Override
    protected boolean needReport() {
        return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
        REPORTS.add(resourceType + " leaked:" + records);
        super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
        REPORTS.add(resourceType + " leaked (no records)");
        super.reportUntracedLeak(resourceType);
    }
}
