using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Tests.Registry;

/// <summary>Retry and resume paths a real registry cannot be made to take on demand, against a scripted handler.</summary>
public sealed class BlobResumeTests
{
    private static readonly byte[] Blob = RandomNumberGenerator.GetBytes(300_000);
    private static readonly Digest BlobDigest = Digest.Sha256(Blob);
    private static readonly ImageReference Repo = ImageReference.Parse("127.0.0.1:1/test/blob:v1");

    private sealed class ScriptedHandler(Func<HttpRequestMessage, int, HttpResponseMessage> script) : HttpMessageHandler
    {
        public List<string?> Ranges { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Ranges.Add(request.Headers.Range?.ToString());
            return Task.FromResult(script(request, Ranges.Count - 1));
        }
    }

    /// <summary>Serves bytes, then fails like a dropped connection.</summary>
    private sealed class BreakingStream(byte[] data, int breakAfter) : MemoryStream(data, 0, breakAfter)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = base.Read(buffer, offset, count);
            return read > 0 ? read : throw new IOException("connection reset by peer");
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = base.Read(buffer.Span);
            return read > 0 ? ValueTask.FromResult(read) : ValueTask.FromException<int>(new IOException("connection reset by peer"));
        }
    }

    private static HttpResponseMessage Full(Stream body) => new(HttpStatusCode.OK) { Content = new StreamContent(body) };

    private static HttpResponseMessage Partial(long from)
    {
        var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(Blob[(int)from..]) };
        response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, Blob.Length - 1, Blob.Length);
        return response;
    }

    private static async Task<(byte[] Bytes, VerifyingStream Stream)> ReadAllAsync(HttpMessageHandler handler)
    {
        using var client = new RegistryClient(new RegistryClientOptions { InitialBackoff = TimeSpan.FromMilliseconds(1) }, handler);
        var stream = await client.OpenBlobAsync(Repo, BlobDigest, Blob.Length);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return (copy.ToArray(), stream);
    }

    [Fact]
    public async Task OpenBlobAsync_BrokenThenPartialContent_ResumesWithRange()
    {
        var handler = new ScriptedHandler((_, call) => call == 0 ? Full(new BreakingStream(Blob, 100_000)) : Partial(100_000));
        var (bytes, stream) = await ReadAllAsync(handler);
        Assert.Equal(Blob, bytes);
        Assert.True(stream.Verified);
        Assert.Equal(1, stream.Reopens);
        Assert.Equal([null, "bytes=100000-"], handler.Ranges);
    }

    [Fact]
    public async Task OpenBlobAsync_BrokenThenFullAnswer_SkipsWhatWasRead()
    {
        var handler = new ScriptedHandler((_, call) => call == 0 ? Full(new BreakingStream(Blob, 123_457)) : Full(new MemoryStream(Blob)));
        var (bytes, stream) = await ReadAllAsync(handler);
        Assert.Equal(Blob, bytes);
        Assert.True(stream.Verified);
    }

    [Fact]
    public async Task OpenBlobAsync_ServerErrorsThenOk_RetriedWithBackoff()
    {
        var handler = new ScriptedHandler((_, call) => call < 3
            ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("""{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}""") }
            : Full(new MemoryStream(Blob)));
        var (bytes, _) = await ReadAllAsync(handler);
        Assert.Equal(Blob, bytes);
        Assert.Equal(4, handler.Ranges.Count);
    }

    [Fact]
    public async Task OpenBlobAsync_ServerErrorsPersist_LastErrorSurfaced()
    {
        var handler = new ScriptedHandler((_, _) =>
            new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("""{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}""") });
        var e = await Assert.ThrowsAsync<RegistryException>(() => ReadAllAsync(handler));
        Assert.Equal($"blob 127.0.0.1:1/test/blob@{BlobDigest}: 503 Service Unavailable: UNAVAILABLE: try later", e.Message);
        Assert.Equal(6, handler.Ranges.Count);
    }

    [Fact]
    public async Task OpenBlobAsync_KeepsBreaking_GivesUpWithOffset()
    {
        var handler = new ScriptedHandler((request, _) => request.Headers.Range is null
            ? Full(new BreakingStream(Blob, 1000))
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new BreakingStream(Blob, 1000)) });
        var e = await Assert.ThrowsAsync<IOException>(() => ReadAllAsync(handler));
        Assert.Equal($"blob 127.0.0.1:1/test/blob@{BlobDigest}: connection broke after 1000 of 300000 bytes: connection reset by peer", e.Message);
        Assert.Equal(1 + 6, handler.Ranges.Count);
    }
}
