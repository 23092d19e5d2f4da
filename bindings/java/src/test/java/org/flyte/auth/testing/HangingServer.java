package org.flyte.auth.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A TCP server on 127.0.0.1 that accepts connections and never answers: an identity provider (or
 * flyteadmin's discovery endpoint) that hangs. Its connections stay open until {@link #close()}.
 */
public final class HangingServer implements AutoCloseable {
  private final ServerSocket socket;
  private final List<Socket> accepted = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  public HangingServer() throws IOException {
    socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor =
        new Thread(
            () -> {
              try {
                for (; ; ) {
                  accepted.add(socket.accept());
                }
              } catch (IOException closed) {
                // close()
              }
            },
            "hanging-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** host:port, for "endpoint". */
  public String endpoint() {
    return "127.0.0.1:" + socket.getLocalPort();
  }

  /**
   * Client-credentials configuration whose discovery request hangs: one attempt, and a
   * per-request timeout far beyond any test's patience, so only the call's own bound can end it.
   */
  public String clientSecretConfig() {
    return "{\"endpoint\":\""
        + endpoint()
        + "\",\"insecure\":true,\"authType\":\"ClientSecret\",\"clientId\":\"x\","
        + "\"clientSecret\":\"y\",\"perRetryTimeout\":\"120s\",\"maxRetries\":0}";
  }

  /** The number of connections accepted so far. */
  public int connections() {
    return accepted.size();
  }

  /** Waits until a connection has been accepted; false after {@code seconds}. */
  public boolean awaitConnection(long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (accepted.isEmpty()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    socket.close();
    for (Socket s : accepted) {
      s.close();
    }
  }
}
