package org.flyte.auth.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flyte.auth.Authenticator;
import org.flyte.auth.testing.HangingServer;
import org.junit.jupiter.api.Test;

/**
 * {@link FlyteCallCredentials} honour the call's deadline: against an identity provider that
 * never answers, a call with a 200 ms deadline fails with {@code DEADLINE_EXCEEDED} in under a
 * second, and the executor thread that waited for the token is freed (before, it stayed in the
 * library until the IdP request's own timeout, here 120 s); cancelling the call's {@link
 * Context} ends the wait too.
 */
class GrpcDeadlineTest {
  @Test
  void aCallDeadlineBoundsTheWaitForCredentials() throws Exception {
    run(false);
  }

  @Test
  void cancellingTheCallsContextEndsTheWaitForCredentials() throws Exception {
    run(true);
  }

  /** A call against a hanging IdP, ended by a 200 ms deadline or by cancelling its Context. */
  private void run(boolean byContext) throws Exception {
    ServerServiceDefinition echo =
        ServerServiceDefinition.builder("flyteauth.test.Echo")
            .addMethod(
                EchoMethod.SAY,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      response.onNext("hello " + request);
                      response.onCompleted();
                    }))
            .build();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(echo)
            .build()
            .start();
    // The executor grpc-java hands to the credentials for blocking work: count what runs on it.
    AtomicInteger running = new AtomicInteger();
    ExecutorService threads = Executors.newCachedThreadPool();
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
            .usePlaintext()
            .executor(
                task ->
                    threads.execute(
                        () -> {
                          running.incrementAndGet();
                          try {
                            task.run();
                          } finally {
                            running.decrementAndGet();
                          }
                        }))
            .build();
    ExecutorService caller = Executors.newSingleThreadExecutor();
    // Connect first: a call is handed to the credentials only once its transport is ready, and
    // the 200 ms are for the credentials, not for a connection on a busy machine.
    channel.getState(true);
    long connectBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (channel.getState(false) != ConnectivityState.READY && System.nanoTime() < connectBy) {
      Thread.sleep(10);
    }
    assertEquals(ConnectivityState.READY, channel.getState(false), "the channel connected");
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      CallOptions options = CallOptions.DEFAULT.withCallCredentials(new FlyteCallCredentials(auth));
      if (!byContext) {
        options = options.withDeadlineAfter(200, TimeUnit.MILLISECONDS);
      }
      CallOptions callOptions = options;
      Context.CancellableContext context = Context.current().withCancellation();
      Future<Long> call =
          caller.submit(
              () ->
                  context.call(
                      () -> {
                        long start = System.nanoTime();
                        StatusRuntimeException e =
                            assertThrows(
                                StatusRuntimeException.class,
                                () ->
                                    ClientCalls.blockingUnaryCall(
                                        channel, EchoMethod.SAY, callOptions, "x"));
                        long elapsed = System.nanoTime() - start;
                        Status.Code expected =
                            byContext ? Status.Code.CANCELLED : Status.Code.DEADLINE_EXCEEDED;
                        assertEquals(expected, e.getStatus().getCode(), e.toString());
                        return elapsed;
                      }));
      assertTrue(idp.awaitConnection(30), "the credentials asked the IdP");
      if (byContext) {
        context.cancel(null);
        call.get(30, TimeUnit.SECONDS); // a hang fails here
      } else {
        long elapsed = call.get(30, TimeUnit.SECONDS); // a hang fails here
        assertTrue(
            elapsed < TimeUnit.SECONDS.toNanos(1),
            "a 200 ms deadline took " + elapsed / 1_000_000 + " ms (bound: 1000 ms)");
      }
      // The credentials' wait on the executor ends with the deadline too (hang detection only).
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (running.get() > 0 && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      assertEquals(0, running.get(), "the credentials still wait for the IdP on the executor");
    } finally {
      caller.shutdownNow();
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      threads.shutdownNow();
    }
  }
}
