package dev.llamaserve.ops.limits;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP forwarder in front of a real server: {@link #close()} makes the server "go away" for
 * whoever connected through it (connections cut, new ones refused), without stopping the shared server.
 * {@link #down(boolean)} does the same and can bring it back on the same port: the listening socket stays bound
 * (new connections are reset at once), since binding a freed ephemeral port again races every other socket on the
 * machine (CI once failed on "Address already in use" there).
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    /** True: bytes are held, not forwarded, as a server that hangs (a partition, a stopped process) holds them. */
    private volatile boolean hung;
    /** True: the server is gone: connections are cut and new ones reset as soon as accepted. */
    private volatile boolean down;

    /** On a free loopback port. */
    TcpProxy(String targetHost, int targetPort) throws IOException {
        this.server = new ServerSocket();
        server.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        Thread accept = new Thread(this::acceptLoop, "tcp-proxy-accept");
        accept.setDaemon(true);
        accept.start();
    }

    /** A port that stays bound and refuses every connection (reset at once): a dead server, with no Redis needed. */
    static TcpProxy refusingAll() throws IOException {
        TcpProxy proxy = new TcpProxy("127.0.0.1", 1);
        proxy.down(true);
        return proxy;
    }

    /** The server hangs (true) or answers again (false); connections stay open. */
    void hang(boolean hang) {
        this.hung = hang;
    }

    /** The server goes away (true: open connections cut, new ones reset) or comes back (false) on the same port. */
    void down(boolean down) {
        this.down = down;
        if (down) {
            cutAll();
        }
    }

    int port() {
        return server.getLocalPort();
    }

    String redisUrl() {
        return "redis://127.0.0.1:" + port();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                if (down) {
                    client.setSoLinger(true, 0); // a reset, as a refused connection fails at once
                    client.close();
                    continue;
                }
                Socket upstream = new Socket(targetHost, targetPort);
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                // closed
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    while (hung && !server.isClosed()) {
                        Thread.sleep(5);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tcp-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        closeQuietly(server);
        cutAll();
    }

    private void cutAll() {
        sockets.forEach(TcpProxy::closeQuietly);
        sockets.clear();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // already closed
        }
    }
}
