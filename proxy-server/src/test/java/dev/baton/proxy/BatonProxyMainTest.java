package dev.baton.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What {@code baton-proxy} prints and returns for everything that does not start Baton. */
class BatonProxyMainTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    @Test
    void leakDetectionIsOffInProductionUnlessTheOperatorSetsALevel() {
        java.util.Properties unset = new java.util.Properties();
        BatonProxyMain.productionDefaults(unset);
        assertEquals("disabled", unset.getProperty("io.netty.leakDetection.level"));

        java.util.Properties set = new java.util.Properties();
        set.setProperty("io.netty.leakDetection.level", "paranoid");
        BatonProxyMain.productionDefaults(set);
        assertEquals("paranoid", set.getProperty("io.netty.leakDetection.level"));

        java.util.Properties legacy = new java.util.Properties();
        legacy.setProperty("io.netty.leakDetectionLevel", "advanced");
        BatonProxyMain.productionDefaults(legacy);
        assertEquals(null, legacy.getProperty("io.netty.leakDetection.level"));
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = BatonProxyMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Path file(String yaml) throws IOException {
        Path file = dir.resolve("baton.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void checkConfigSummarizesAValidConfigAndExitsZero() throws IOException {
        Path file = file("listen: 127.0.0.1:16033\ncluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1:3311}\n");
        Run run = run("--check-config", file.toString());
        assertEquals(0, run.exit(), run.err());
        assertEquals("config OK: single cluster of 1 node(s) [db1 (127.0.0.1:3311)], listen 127.0.0.1:16033, admin 127.0.0.1:6034\n",
                run.out());
        assertEquals("", run.err());
    }

    @Test
    void checkConfigPrintsTheConfigErrorAndExitsTwo() throws IOException {
        Path file = file("cluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1}\n");
        Run run = run("--check-config", file.toString());
        assertEquals(2, run.exit());
        assertEquals(file + ": cluster.nodes[0].address: bad address: '127.0.0.1' is not host:port\n", run.err());
        assertEquals("", run.out());
    }

    @Test
    void checkConfigPrintsWarningsOfAConfigItAccepts() throws IOException {
        Path file = file("cluster:\n  type: primary-replica\n  nodes:\n    - {name: db1, address: 127.0.0.1:3321}\n"
                + "    - {name: db2, address: 127.0.0.1:3322}\n  monitor: {user: m, password: m}\n"
                + "  replication: {user: r, password: r}\n");
        Run run = run("--check-config", file.toString());
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("config OK: primary-replica cluster of 2 node(s) [db1 (127.0.0.1:3321), db2 (127.0.0.1:3322)]"),
                run.out());
        assertTrue(run.err().startsWith("warning: " + file + ": cluster.nodes: "), run.err());
    }

    @Test
    void checkConfigOfAMissingFileNamesIt() {
        Run run = run("--check-config", "/nonexistent/baton.yaml");
        assertEquals(2, run.exit());
        assertEquals("/nonexistent/baton.yaml: no such file\n", run.err());
    }

    @Test
    void versionNamesTheCommand() {
        Run run = run("--version");
        assertEquals(0, run.exit());
        assertEquals("baton-proxy development build\n", run.out(), "classes outside the jar have no manifest version");
    }

    @Test
    void helpListsEveryOption() {
        Run run = run("--help");
        assertEquals(0, run.exit());
        for (String option : new String[]{"--config=FILE", "--check-config=FILE", "--version", "--help"}) {
            assertTrue(run.out().contains(option), option + " in " + run.out());
        }
    }

    @Test
    void noConfigIsBadUsage() {
        Run run = run();
        assertEquals(2, run.exit());
        assertEquals("baton-proxy: no config given (usage: baton-proxy --config FILE)\n", run.err());
    }

    @Test
    void configWithoutAFileIsBadUsage() {
        assertEquals("baton-proxy: --config needs a file (usage: baton-proxy --config FILE)\n", run("--config").err());
        assertEquals("baton-proxy: --config needs a file (usage: baton-proxy --config FILE)\n", run("-c").err());
        assertEquals("baton-proxy: --check-config needs a file (usage: baton-proxy --config FILE)\n", run("--check-config").err());
        assertEquals(2, run("--config").exit());
    }

    @Test
    void unknownArgumentIsBadUsageNamingIt() {
        Run run = run("--confgi", "x.yaml");
        assertEquals(2, run.exit());
        assertEquals("baton-proxy: unknown argument '--confgi' (usage: baton-proxy --config FILE)\n", run.err());
    }

    @Test
    void configAndCheckConfigTogetherIsBadUsage() {
        Run run = run("--config", "a.yaml", "--check-config", "b.yaml");
        assertEquals(2, run.exit());
        assertEquals("baton-proxy: give either --config or --check-config, not both (usage: baton-proxy --config FILE)\n", run.err());
    }

    @Test
    void anIgnoredHangupIsReadFromTheProcessStatusSoBatonCanSaySighupWillNotReload() throws IOException {
        Path ignoring = dir.resolve("status-nohup");
        Files.writeString(ignoring, "Name:\tjava\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000001\nSigCgt:\t0000000000004002\n");
        assertTrue(BatonProxyMain.hangupIgnored(ignoring), "bit 0 of SigIgn is SIGHUP");

        Path handling = dir.resolve("status");
        Files.writeString(handling, "Name:\tjava\nSigIgn:\t0000000000001000\nSigCgt:\t0000000000004003\n");
        assertEquals(false, BatonProxyMain.hangupIgnored(handling), "SIGPIPE ignored, SIGHUP not");

        assertEquals(false, BatonProxyMain.hangupIgnored(dir.resolve("missing")), "no /proc: nothing to warn about");
        Files.writeString(handling, "SigIgn:\tnot-hex\n");
        assertEquals(false, BatonProxyMain.hangupIgnored(handling), "an unknown format: nothing to warn about");
    }
}
