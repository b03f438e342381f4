using System.Net.Http.Json;
using System.Text.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Measures through the local agent's unix socket (<c>POST /v1/measure</c>), so the launch events land in the log
/// and PCR the verifier checks. The socket is the agent's only local API and is mode 0600: root's launcher only.
/// </summary>
public sealed class AgentSocketMeasurer : IMeasurer
{
    private readonly HttpClient _client;
    private readonly string _socketPath;

    public AgentSocketMeasurer(string socketPath)
    {
        _socketPath = socketPath;
        _client = UnixSocketHttp.Create(socketPath);
        _client.Timeout = TimeSpan.FromSeconds(30);
    }

    public async Task<MeasuredEvent> MeasureAsync(string operation, JsonElement content, string? goldenValue, CancellationToken cancellationToken = default)
    {
        HttpResponseMessage response;
        try
        {
            response = await _client.PostAsJsonAsync("/v1/measure", new MeasureRequest(operation, content, goldenValue),
                ContractsJsonContext.Default.MeasureRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new IOException($"cannot reach the agent at {_socketPath}: {e.Message}", e);
        }
        using (response)
        {
            try
            {
                await ServiceProblemException.EnsureSuccessAsync(response, $"measure {operation}", cancellationToken).ConfigureAwait(false);
            }
            catch (ServiceProblemException e)
            {
                throw new IOException($"the agent refused to measure {operation}: {e.Detail ?? e.Title ?? e.Status.ToString()}", e);
            }
            return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.MeasuredEvent, cancellationToken).ConfigureAwait(false)
                ?? throw new IOException($"the agent answered {operation} with an empty body");
        }
    }

    public void Dispose() => _client.Dispose();
}
