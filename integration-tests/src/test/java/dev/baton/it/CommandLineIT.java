package dev.baton.it;

import dev.baton.cli.BatonCli;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The commands an operator types: {@code bin/baton-proxy} refusing bad configs with exit code 2 and one line, and
 * {@code baton health} against a running Baton.
 */
class CommandLineIT {
    private static final Path PROJECT = Path.of(System.getProperty("baton.project.dir", ".."));

    private record Run(int exit, String stdout, String stderr) {
    }

    private static Run batonProxy(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(PROJECT.resolve("bin/baton-proxy").toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        assertTrue(ended, "baton-proxy ended by itself");
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static Path config(String yaml) throws IOException {
        Path file = Files.createTempFile("baton-config", ".yaml");
        Files.writeString(file, yaml);
        file.toFile().deleteOnExit();
        return file;
    }

    @Test
    void missingConfigFileExitsTwoNamingTheFile() throws Exception {
        Run run = batonProxy("--config", "/nonexistent/baton.yaml");
        assertEquals(2, run.exit());
        assertEquals("/nonexistent/baton.yaml: no such file\n", run.stderr());
    }

    @Test
    void unknownKeyExitsTwoNamingFileAndKey() throws Exception {
        Path file = config("listen: 127.0.0.1:16033\ncluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1:3311}\n  nodez: []\n");
        Run run = batonProxy("--config", file.toString());
        assertEquals(2, run.exit());
        assertEquals(file + ": cluster.nodez: unknown key (known here: connect-wait, failback, failover, monitor, nodes, proxy-protocol, rejoin, replication, schema, tls, type)\n", run.stderr());
    }

    @Test
    void badAddressExitsTwoNamingTheKey() throws Exception {
        Path file = config("cluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1}\n");
        Run run = batonProxy("--config", file.toString());
        assertEquals(2, run.exit());
        assertEquals(file + ": cluster.nodes[0].address: bad address: '127.0.0.1' is not host:port\n", run.stderr());
    }

    @Test
    void portInUseExitsTwoNamingTheListenKey() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            Path file = config("listen: 127.0.0.1:" + port + "\nadmin:\n  listen: 127.0.0.1:0"
                    + "\ncluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1:3311}\n");
            Run run = batonProxy("--config", file.toString());
            assertEquals(2, run.exit());
            assertTrue(run.stderr().startsWith(file + ": listen: cannot listen on 127.0.0.1:" + port + ": "), run.stderr());
            assertTrue(run.stderr().contains("in use"), run.stderr());
            assertEquals(1, run.stderr().lines().count(), "one line: " + run.stderr());
        }
    }

    @Test
    void noConfigArgumentIsBadUsage() throws Exception {
        Run run = batonProxy();
        assertEquals(2, run.exit());
        assertEquals("baton-proxy: no config given (usage: baton-proxy --config FILE)\n", run.stderr());
    }

    @Test
    void healthReportsTheWriterOfARunningBaton() throws Exception {
        try (RunningBaton baton = RunningBaton.inFrontOf(LocalMariaDb.shared())) {
            String url = "http://127.0.0.1:" + baton.proxy().adminAddress().getPort();
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exit = BatonCli.run(new PrintWriter(out, true), new PrintWriter(err, true), "health", "--url", url);
            assertEquals(0, exit, err.toString());
            assertEquals("ok: writer db1 (epoch 1), 0 client session(s)\n", out.toString());
            // global options are accepted before the subcommand too
            out.getBuffer().setLength(0);
            assertEquals(0, BatonCli.run(new PrintWriter(out, true), new PrintWriter(err, true), "--url", url, "health"));
        }
    }

    @Test
    void healthAgainstNothingIsOneLineAndExitOne() {
        StringWriter err = new StringWriter();
        int exit = BatonCli.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                "health", "--url", "http://127.0.0.1:" + RunningBaton.freePort());
        assertEquals(1, exit);
        assertTrue(err.toString().startsWith("baton: cannot reach Baton's admin API at http://127.0.0.1:"), err.toString());
        assertEquals(1, err.toString().lines().count());
    }

    @Test
    void unknownCommandIsBadUsage() {
        StringWriter err = new StringWriter();
        assertEquals(2, BatonCli.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "frobnicate"));
        assertTrue(err.toString().startsWith("baton: "), err.toString());
    }
}
