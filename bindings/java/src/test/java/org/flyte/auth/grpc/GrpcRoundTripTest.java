package org.flyte.auth.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.flyte.auth.Authenticator;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Secrets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A real grpc-java round trip over Netty on 127.0.0.1: a server that checks the {@code
 * flyte-authorization} header against the tokens it has revoked, and a client channel with
 * {@link FlyteAuthInterceptor}. No protobuf: the method's messages are UTF-8 strings.
 */
class GrpcRoundTripTest {
  @RegisterExtension static final Idp IDP = new Idp();

  private static final Metadata.Key<String> AUTH =
      Metadata.Key.of("flyte-authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** Header values the server rejects; "*" rejects every value. */
  private static final Set<String> revoked = ConcurrentHashMap.newKeySet();
  /** The auth header of every call that reached the server, accepted or not. */
  private static final List<String> attempts = new CopyOnWriteArrayList<>();

  private static Server server;
  private static ManagedChannel channel;

  private Authenticator auth;

  @BeforeAll
  static void startServer() throws IOException {
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
    ServerInterceptor checkAuth =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String value = headers.get(AUTH);
            attempts.add(String.valueOf(value));
            if (value == null
                || !value.startsWith("Bearer ")
                || revoked.contains(value)
                || revoked.contains("*")) {
              call.close(Status.UNAUTHENTICATED.withDescription("token rejected"), new Metadata());
              return new ServerCall.Listener<Q>() {};
            }
            return next.startCall(call, headers);
          }
        };
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(ServerInterceptors.intercept(echo, checkAuth))
            .build()
            .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterAll
  static void stopServer() throws InterruptedException {
    channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void setUp() throws Exception {
    revoked.clear();
    attempts.clear();
    IDP.reset();
    auth = Authenticator.fromJson(IDP.clientSecretConfig());
  }

  @AfterEach
  void tearDown() {
    auth.close();
  }

  private String say(Channel ch, String who) {
    return ClientCalls.blockingUnaryCall(ch, EchoMethod.SAY, CallOptions.DEFAULT, who);
  }

  @Test
  void aStaleTokenIsRefreshedOnceAndTheCallRetried() throws Exception {
    Channel ch = ClientInterceptors.intercept(channel, new FlyteAuthInterceptor(auth));

    assertEquals("hello one", say(ch, "one"));
    assertEquals(1, attempts.size());
    String first = attempts.get(0);
    Secrets.assertSame(auth.metadata().get("flyte-authorization"), first, "sent");

    revoked.add(first); // the server no longer accepts the token the client still holds
    attempts.clear();
    assertEquals("hello two", say(ch, "two"));
    assertEquals(2, attempts.size(), "rejected once, then retried");
    Secrets.assertSame(first, attempts.get(0), "first attempt");
    Secrets.assertDifferent(first, attempts.get(1), "retry");
    assertEquals(2, IDP.clientCredentialsGrants(), "one refresh");

    attempts.clear();
    assertEquals("hello three", say(ch, "three"));
    assertEquals(1, attempts.size(), "the new token is used directly");
    assertEquals(2, IDP.clientCredentialsGrants());
  }

  @Test
  void aBurstOfRejectionsOfOneTokenCostsOneRefresh() throws Exception {
    Channel ch = ClientInterceptors.intercept(channel, new FlyteAuthInterceptor(auth));
    assertEquals("hello warm", say(ch, "warm"));
    revoked.add(auth.metadata().get("flyte-authorization"));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<String>> replies = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String who = "c" + i;
        replies.add(pool.submit(() -> say(ch, who)));
      }
      for (int i = 0; i < 8; i++) {
        assertEquals("hello c" + i, replies.get(i).get(60, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(2, IDP.clientCredentialsGrants(), "8 rejections of one token, one refresh");
  }

  @Test
  void aServerThatKeepsRejectingGetsExactlyOneRetry() {
    Channel ch = ClientInterceptors.intercept(channel, new FlyteAuthInterceptor(auth));
    revoked.add("*");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> say(ch, "x"));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertEquals(2, attempts.size());
  }

  @Test
  void callCredentialsAloneAttachTheHeader() {
    String reply =
        ClientCalls.blockingUnaryCall(
            channel,
            EchoMethod.SAY,
            CallOptions.DEFAULT.withCallCredentials(new FlyteCallCredentials(auth)),
            "creds");
    assertEquals("hello creds", reply);
    assertEquals(1, attempts.size());
    Secrets.assertSame(auth.metadata().get("flyte-authorization"), attempts.get(0), "sent");
  }

  @Test
  void credentialFailuresFailTheCallWithoutRetry() throws Exception {
    try (Authenticator wrong = Authenticator.fromJson(IDP.clientSecretConfig("not-the-secret"))) {
      Channel ch = ClientInterceptors.intercept(channel, new FlyteAuthInterceptor(wrong));
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> say(ch, "x"));
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
      assertNotNull(e.getStatus().getDescription());
      assertTrue(e.getStatus().getDescription().contains("invalid_client"), e.getStatus().getDescription());
      assertTrue(!e.getStatus().getDescription().contains("not-the-secret"));
      assertEquals(0, attempts.size(), "nothing reached the server");
    }
  }
}
