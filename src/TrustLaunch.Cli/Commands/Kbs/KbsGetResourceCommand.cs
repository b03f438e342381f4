using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using TrustLaunch.Agent.Kbs;
using TrustLaunch.Cli.Commands.Containers;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Cli.Commands.Kbs;

/// <summary>
/// <c>trustlaunch kbs get-resource kbs:///REPOSITORY/TYPE/TAG [--out F]</c> on a node: the local agent (its unix
/// socket, root's only, as for <c>run</c>) attests to its key broker with its TPM and hands over the released bytes,
/// written to <c>--out</c> with mode 0600 or to standard output. The broker's refusals keep its error name and detail
/// (<c>kbs refused: PolicyDeny: …</c>, exit 1).
/// </summary>
public static class KbsGetResourceCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("URI") { Description = "kbs:///REPOSITORY/TYPE/TAG (or kbs://HOST:PORT/… naming the agent's broker)" };
        var output = OutOption();
        var socket = AgentSocketOption();
        var command = new Command("get-resource", "Fetch a resource from the key broker through the local agent's attestation") { uri, output, socket };
        command.SetAction(async (parse, ct) =>
        {
            var bytes = await FetchAsync(AgentSocket(parse, socket), parse.GetValue(uri)!, ct).ConfigureAwait(false);
            try
            {
                await WriteAsync(parse.GetValue(output), bytes, ct).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(bytes);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>--agent-socket PATH</c> of the commands that fetch a resource through the local agent.</summary>
    internal static Option<string?> AgentSocketOption() => new("--agent-socket")
    {
        Description = $"The local agent's unix socket (default: ${ContainerOptions.AgentSocketEnvironmentVariable}, else {ContainerOptions.DefaultAgentSocket})",
        HelpName = "PATH",
    };

    /// <summary>The agent socket <paramref name="option"/> names (or its default), which must exist.</summary>
    internal static string AgentSocket(ParseResult parse, Option<string?> option)
    {
        var path = parse.GetValue(option) ?? Environment.GetEnvironmentVariable(ContainerOptions.AgentSocketEnvironmentVariable) ?? ContainerOptions.DefaultAgentSocket;
        return File.Exists(path) ? path : throw new CliFailureException($"no agent socket at {path}: start `trustlaunch serve agent --kbs URL`, or pass --agent-socket");
    }

    /// <summary><c>--out FILE</c> of the commands that print a resource.</summary>
    internal static Option<FileInfo?> OutOption() =>
        new("--out") { Description = "Write the bytes here (mode 0600; default: standard output)", HelpName = "FILE" };

    /// <summary>Writes a resource's bytes to <paramref name="file"/> (created or narrowed to 0600) or to standard output.</summary>
    internal static async Task WriteAsync(FileInfo? file, byte[] bytes, CancellationToken cancellationToken)
    {
        if (file is not null)
        {
            PrivateFiles.CreateFile(file.FullName);
            await using var stream = new FileStream(file.FullName, FileMode.Truncate, FileAccess.Write);
            await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The resource's bytes through the agent at <paramref name="socket"/> (NodeKeyBroker: attested, measured as KeyReleased).</summary>
    internal static async Task<byte[]> FetchAsync(string socket, string uri, CancellationToken cancellationToken)
    {
        using var http = UnixSocketHttp.Create(socket);
        // A handshake is a few round trips and one TPM quote; the broker side is bounded by the agent's own client.
        http.Timeout = TimeSpan.FromMinutes(2);
        try
        {
            using var response = await http.PostAsJsonAsync("/v1/kbs/resource", new KbsResourceRequest(uri), KbsResourceJsonContext.Default.KbsResourceRequest,
                cancellationToken).ConfigureAwait(false);
            await ServiceProblemException.EnsureSuccessAsync(response, "kbs get-resource", cancellationToken).ConfigureAwait(false);
            return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliFailureException($"cannot reach the agent at {socket}: {e.Message}");
        }
        catch (ServiceProblemException e) when (e.Status == HttpStatusCode.BadRequest)
        {
            throw new CliUsageException(e.Detail ?? e.Message);
        }
        catch (ServiceProblemException e)
        {
            throw new CliFailureException(e.Detail ?? e.Message);
        }
    }
}
