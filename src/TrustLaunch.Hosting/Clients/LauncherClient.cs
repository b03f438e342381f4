using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>
/// <c>trustlaunch run/ps/stop/rm/logs</c> as clients of the node daemon (the agent's launcher endpoints on its unix
/// socket). An answer that is not a success surfaces as <see cref="ServiceProblemException"/> with the agent's detail;
/// an unreachable agent as <see cref="HttpRequestException"/>.
/// </summary>
public sealed class LauncherClient(HttpClient http) : IDisposable
{
    public static LauncherClient ForSocket(string socketPath)
    {
        var http = UnixSocketHttp.Create(socketPath);
        // A launch pulls (bounded by the registry client's own timeouts) and an attached one lasts as long as its container.
        http.Timeout = Timeout.InfiniteTimeSpan;
        return new LauncherClient(http);
    }

    /// <summary>Launches detached; returns the container once it runs.</summary>
    public async Task<NodeContainer> RunAsync(RunContainerRequest request, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync("/v1/containers", request with { Attach = false }, LauncherContractsJsonContext.Default.RunContainerRequest,
            cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "run", cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, LauncherContractsJsonContext.Default.NodeContainer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Launches attached: the container's output goes to <paramref name="output"/> as it comes; returns its exit status.</summary>
    public async Task<int> RunAttachedAsync(RunContainerRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output,
        CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/containers")
        {
            Content = JsonContent.Create(request with { Attach = true }, LauncherContractsJsonContext.Default.RunContainerRequest),
        };
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "run", cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentType?.MediaType != AttachFrames.MediaType)
            throw new IOException($"the agent answered an attached run with {response.Content.Headers.ContentType?.MediaType ?? "no content type"}, not {AttachFrames.MediaType}");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var header = new byte[5];
        var payload = new byte[AttachFrames.MaxPayload];
        while (true)
        {
            if (!await ReadExactlyOrEndAsync(body, header, cancellationToken).ConfigureAwait(false))
                throw new IOException("the agent ended the attached run's stream before the container's exit status");
            var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
            if (length is < 0 or > AttachFrames.MaxPayload)
                throw new IOException($"the agent sent an attach frame of {length} bytes");
            if (length > 0 && !await ReadExactlyOrEndAsync(body, payload.AsMemory(0, length), cancellationToken).ConfigureAwait(false))
                throw new IOException("the agent ended the attached run's stream inside a frame");
            switch (header[0])
            {
                case AttachFrames.Output:
                    await output(payload.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    break;
                case AttachFrames.Exit when length == 4:
                    return BinaryPrimitives.ReadInt32BigEndian(payload);
                case AttachFrames.Error:
                    throw new IOException(Encoding.UTF8.GetString(payload, 0, length));
                default:
                    throw new IOException($"the agent sent an unknown attach frame '{(char)header[0]}' of {length} bytes");
            }
        }
    }

    public async Task<IReadOnlyList<NodeContainer>> ListAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"/v1/containers?data_dir={Uri.EscapeDataString(dataDir)}", cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "ps", cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, LauncherContractsJsonContext.Default.IReadOnlyListNodeContainer, cancellationToken).ConfigureAwait(false);
    }

    public async Task<NodeContainer> StopAsync(string dataDir, string name, int timeoutSeconds, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync($"/v1/containers/{Uri.EscapeDataString(name)}/stop", new StopContainerRequest(dataDir, timeoutSeconds),
            LauncherContractsJsonContext.Default.StopContainerRequest, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "stop", cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, LauncherContractsJsonContext.Default.NodeContainer, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string dataDir, string name, bool force, CancellationToken cancellationToken = default)
    {
        using var response = await http.DeleteAsync(
            $"/v1/containers/{Uri.EscapeDataString(name)}?data_dir={Uri.EscapeDataString(dataDir)}&force={(force ? "true" : "false")}", cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "rm", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Copies the container's output (until it exits, with <paramref name="follow"/>) to <paramref name="output"/>.</summary>
    public async Task LogsAsync(string dataDir, string name, bool follow, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output,
        CancellationToken cancellationToken = default)
    {
        var uri = string.Create(CultureInfo.InvariantCulture,
            $"/v1/containers/{Uri.EscapeDataString(name)}/logs?data_dir={Uri.EscapeDataString(dataDir)}&follow={(follow ? "true" : "false")}");
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "logs", cancellationToken).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            await output(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => http.Dispose();

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
        ?? throw new IOException("the agent answered with an empty body");

    private static async Task<bool> ReadExactlyOrEndAsync(Stream body, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await body.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }
}
