using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Testing;

namespace TrustLaunch.Kbs.Tests;

/// <summary>
/// The workload gateway's caps, through a running container's own socket (reached through its root): a request body
/// over 64 KiB is refused 413, and a container's 17th open connection 429 while another container is still served.
/// </summary>
[Trait("Category", "Slow")]
[Collection(KbsEndToEndFixture.Collection)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GatewayCapsEndToEndTests(KbsEndToEndFixture stack, RegistryFixture registry) : IClassFixture<RegistryFixture>, IAsyncLifetime
{
    private const string RefusedType = "urn:trustlaunch:problem:workload-request-refused";
    private const string Info = "GET /info HTTP/1.1\r\nHost: gateway\r\n\r\n";

    private readonly GatewayWorkloads _workloads = new(stack, registry);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _workloads.DisposeAsync();

    /// <summary>Runs a container sleeping a while; the path of its gateway socket.</summary>
    private async Task<string> SleepingAsync(PushedImage image, string name)
    {
        (await _workloads.RunAsync(image, name, "sleep 120", attach: false)).EnsureSuccess("run " + name);
        return GatewayWorkloads.SocketOf(await _workloads.PidOfAsync(name));
    }

    [Theory]
    [InlineData(false, "the request body is 65537 bytes: the workload gateway reads at most 65536 bytes")]
    [InlineData(true, "the request body is longer than that: the workload gateway reads at most 65536 bytes")]
    public async Task Aael_BodyOver64KiB_Refused413WithItsProblemDocument(bool chunked, string detail)
    {
        var image = await _workloads.PublishAsync("gateway/caps-body");
        using var http = UnixSocketHttp.Create(await SleepingAsync(image, GatewayWorkloads.NewName("gw-body")));
        var body = Encoding.ASCII.GetBytes($$"""{"domain":"app.example","operation":"Big","content":"{{new string('x', 65536)}}"}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/aa/aael") { Content = new ByteArrayContent(body[..65537]) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await http.SendAsync(request);

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "application/problem+json"), (response.StatusCode, response.Content.Headers.ContentType?.MediaType));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((RefusedType, "workload request refused", 413, detail),
            (problem.GetProperty("type").GetString(), problem.GetProperty("title").GetString(), problem.GetProperty("status").GetInt32(), problem.GetProperty("detail").GetString()));
        Assert.All(problem.EnumerateObject(), p => Assert.Contains(p.Name, new[] { "type", "title", "status", "detail", "traceId" }));
    }

    [Fact]
    public async Task Connections_SeventeenthOfOneContainer_Refused429_AnotherContainerStillServed()
    {
        var image = await _workloads.PublishAsync("gateway/caps-connections");
        var busy = GatewayWorkloads.NewName("gw-busy");
        var calm = GatewayWorkloads.NewName("gw-calm");
        var busySocket = await SleepingAsync(image, busy);
        var calmSocket = await SleepingAsync(image, calm);
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 16; i++)
            {
                held.Add(await ConnectAsync(busySocket));
                Assert.Equal(("HTTP/1.1 200 OK", busy), ContainerOf(await ExchangeAsync(held[^1], Info)));
            }

            using var seventeenth = await ConnectAsync(busySocket);
            var (status, body) = await ExchangeAsync(seventeenth, Info);
            using var other = await ConnectAsync(calmSocket);
            var served = ContainerOf(await ExchangeAsync(other, Info));

            Assert.Equal("HTTP/1.1 429 Too Many Requests", status);
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal((RefusedType, "workload request refused", 429,
                    $"container '{busy}' has 16 workload gateway connections open, the most it may: this one is refused"),
                (problem.GetProperty("type").GetString(), problem.GetProperty("title").GetString(), problem.GetProperty("status").GetInt32(), problem.GetProperty("detail").GetString()));
            Assert.Equal(("HTTP/1.1 200 OK", calm), served);
            // A connection closed frees its place.
            held[0].Dispose();
            await Eventually.WaitAsync(async () =>
            {
                using var again = await ConnectAsync(busySocket);
                return (await ExchangeAsync(again, Info)).Status == "HTTP/1.1 200 OK" ? "served" : null;
            }, () => $"container {busy} was not served again after one of its 16 connections closed");
        }
        finally
        {
            foreach (var socket in held)
                socket.Dispose();
        }
    }

    private static (string Status, string Container) ContainerOf((string Status, string Body) answer) =>
        (answer.Status, answer.Status == "HTTP/1.1 200 OK" ? JsonDocument.Parse(answer.Body).RootElement.GetProperty("container").GetString()! : answer.Body);

    private static async Task<Socket> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>Sends <paramref name="request"/> and reads one answer (its head, and the body its Content-Length gives).</summary>
    private static async Task<(string Status, string Body)> ExchangeAsync(Socket socket, string request)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headEnd;
        while ((headEnd = IndexOfHeadEnd(received)) < 0)
            received.AddRange(buffer[..await ReceiveAsync(socket, buffer)]);
        var head = Encoding.ASCII.GetString([.. received[..headEnd]]).Split("\r\n");
        var length = int.Parse(head.Single(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))["Content-Length:".Length..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headEnd + 4 + length)
            received.AddRange(buffer[..await ReceiveAsync(socket, buffer)]);
        return (head[0], Encoding.UTF8.GetString([.. received[(headEnd + 4)..(headEnd + 4 + length)]]));
    }

    private static async Task<int> ReceiveAsync(Socket socket, byte[] buffer)
    {
        var read = await socket.ReceiveAsync(buffer);
        return read > 0 ? read : throw new IOException("the gateway closed the connection before it answered");
    }

    private static int IndexOfHeadEnd(List<byte> received)
    {
        for (var i = 0; i + 3 < received.Count; i++)
        {
            if (received[i] == '\r' && received[i + 1] == '\n' && received[i + 2] == '\r' && received[i + 3] == '\n')
                return i;
        }
        return -1;
    }
}
