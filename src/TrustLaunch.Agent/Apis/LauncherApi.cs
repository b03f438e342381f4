using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Agent.Runtime;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Apis;

/// <summary>
/// The node daemon's launcher on the agent's unix socket (root's only): <c>POST /v1/containers</c> (run; with
/// <c>attach</c> the body streams <see cref="AttachFrames"/>), <c>GET /v1/containers?data_dir=</c> (ps, CRI
/// containers included), <c>POST /v1/containers/{name}/stop</c>, <c>DELETE /v1/containers/{name}?data_dir=&amp;force=</c>
/// and <c>GET /v1/containers/{name}/logs?data_dir=&amp;follow=</c>. Errors are problem+json; a refused image is 422
/// with type <see cref="LauncherProblemTypes.NotVerified"/> and a detail starting <c>NOT verified:</c>.
/// </summary>
public static class LauncherApi
{
    public static void MapLauncherApi(this RouteGroupBuilder group)
    {
        group.MapPost("/containers", RunAsync);
        group.MapGet("/containers", ListAsync);
        group.MapPost("/containers/{name}/stop", StopAsync);
        group.MapDelete("/containers/{name}", RemoveAsync);
        group.MapGet("/containers/{name}/logs", LogsAsync);
    }

    private static async Task RunAsync(HttpContext context, NodeLauncher launcher)
    {
        LaunchedContainer launched;
        RunContainerRequest request;
        IResult? refused = null;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, LauncherContractsJsonContext.Default.RunContainerRequest, context.RequestAborted)
                .ConfigureAwait(false) ?? throw new JsonException("the body is null");
            launched = await launcher.RunAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (Problem(e) is { } problem)
        {
            refused = problem;
            request = null!;
            launched = null!;
        }
        if (refused is not null)
        {
            await refused.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        if (!request.Attach)
        {
            var summary = await launcher.Control(request.DataDir).GetAsync(request.Name, context.RequestAborted).ConfigureAwait(false);
            await TypedResults.Json(ViewOf(summary), LauncherContractsJsonContext.Default.NodeContainer, statusCode: StatusCodes.Status201Created)
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = AttachFrames.MediaType;
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        var body = context.Response.Body;
        try
        {
            await ContainerOutput.CopyAsync(launched.Container, (bytes, ct) => WriteFrameAsync(body, AttachFrames.Output, bytes, ct), follow: true,
                context.RequestAborted, launched.Exited).ConfigureAwait(false);
            var exitCode = await launched.Exited.ConfigureAwait(false);
            var status = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(status, exitCode);
            await WriteFrameAsync(body, AttachFrames.Exit, status, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The status line is sent: the failure (e.g. ContainerStopped could not be measured) ends the stream instead.
            await WriteFrameAsync(body, AttachFrames.Error, Encoding.UTF8.GetBytes(e.Message), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task<IResult> ListAsync(string? data_dir, NodeLauncher launcher, [FromServices] IEnumerable<INodeContainerSource> sources,
        CancellationToken cancellationToken)
    {
        try
        {
            var list = (await launcher.Control(DataDirOf(data_dir)).ListAsync(cancellationToken).ConfigureAwait(false)).Select(ViewOf).ToList();
            foreach (var source in sources)
                list.AddRange(await source.ListAsync(cancellationToken).ConfigureAwait(false));
            return TypedResults.Json<IReadOnlyList<NodeContainer>>(list, LauncherContractsJsonContext.Default.IReadOnlyListNodeContainer);
        }
        catch (Exception e) when (Problem(e) is { } problem)
        {
            return problem;
        }
    }

    private static async Task<IResult> StopAsync(string name, HttpContext context, NodeLauncher launcher)
    {
        try
        {
            var request = await JsonSerializer.DeserializeAsync(context.Request.Body, LauncherContractsJsonContext.Default.StopContainerRequest, context.RequestAborted)
                .ConfigureAwait(false) ?? throw new JsonException("the body is null");
            if (request.TimeoutSeconds < 0)
                throw new ArgumentException("timeout_seconds must be 0 or more");
            var control = launcher.Control(DataDirOf(request.DataDir));
            await control.StopAsync(name, TimeSpan.FromSeconds(request.TimeoutSeconds), context.RequestAborted).ConfigureAwait(false);
            return TypedResults.Json(ViewOf(await control.GetAsync(name, context.RequestAborted).ConfigureAwait(false)), LauncherContractsJsonContext.Default.NodeContainer);
        }
        catch (Exception e) when (Problem(e) is { } problem)
        {
            return problem;
        }
    }

    private static async Task<IResult> RemoveAsync(string name, string? data_dir, bool? force, NodeLauncher launcher, CancellationToken cancellationToken)
    {
        try
        {
            var control = launcher.Control(DataDirOf(data_dir));
            using var measurer = launcher.OpenMeasurer();
            await control.RemoveAsync(name, force ?? false, measurer, cancellationToken).ConfigureAwait(false);
            return TypedResults.NoContent();
        }
        catch (Exception e) when (Problem(e) is { } problem)
        {
            return problem;
        }
    }

    private static async Task LogsAsync(string name, string? data_dir, bool? follow, HttpContext context)
    {
        ContainerDirectory container;
        try
        {
            container = ContainerDirectory.Open(DataDirOf(data_dir), name);
        }
        catch (Exception e) when (Problem(e) is not null)
        {
            await Problem(e)!.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = "application/octet-stream";
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        var body = context.Response.Body;
        await ContainerOutput.CopyAsync(container, async (bytes, ct) =>
        {
            await body.WriteAsync(bytes, ct).ConfigureAwait(false);
            await body.FlushAsync(ct).ConfigureAwait(false);
        }, follow ?? false, context.RequestAborted).ConfigureAwait(false);
    }

    private static string DataDirOf(string? dataDir) =>
        dataDir is not null && Path.IsPathFullyQualified(dataDir) ? dataDir : throw new ArgumentException($"data_dir '{dataDir}' is not an absolute path");

    private static async ValueTask WriteFrameAsync(Stream body, byte kind, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < payload.Length || (offset == 0 && payload.Length == 0); offset += AttachFrames.MaxPayload)
        {
            var chunk = payload.Slice(offset, Math.Min(AttachFrames.MaxPayload, payload.Length - offset));
            var header = new byte[5];
            header[0] = kind;
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), chunk.Length);
            await body.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await body.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (payload.Length == 0)
                break;
        }
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static NodeContainer ViewOf(ContainerSummary s) =>
        new(s.Record.Name, s.Record.Image, s.Record.ImageDigest, s.Record.Pod, s.Record.Namespace, s.Record.ConfigDigest, s.Record.Created,
            s.Status, s.Pid, s.Exit?.ExitCode, s.Exit?.Finished, s.Record.Network, s.Record.Seccomp, s.Exit?.Reason);

    /// <summary>The problem a launcher failure answers; null for cancellation (the client went away).</summary>
    private static IResult? Problem(Exception e) => e switch
    {
        OperationCanceledException => null,
        ImageNotVerifiedException => TypedResults.Problem(title: "image not verified", detail: e.Message, statusCode: StatusCodes.Status422UnprocessableEntity,
            type: LauncherProblemTypes.NotVerified),
        SecretRefusedException => TypedResults.Problem(title: "secret refused", detail: e.Message, statusCode: StatusCodes.Status422UnprocessableEntity,
            type: LauncherProblemTypes.NotVerified),
        JsonException or ArgumentException or FormatException or FileNotFoundException or DirectoryNotFoundException or CryptographicException =>
            TypedResults.Problem(title: "bad launcher request", detail: e.Message, statusCode: StatusCodes.Status400BadRequest),
        LauncherException => TypedResults.Problem(title: "launcher refused", detail: e.Message, statusCode: StatusCodes.Status409Conflict),
        RuntimeException or RegistryException or HttpRequestException or IOException or OciContentException or PlatformNotFoundException
            or NotSupportedException => TypedResults.Problem(title: "launch failed", detail: e.Message, statusCode: StatusCodes.Status502BadGateway),
        _ => TypedResults.Problem(title: "launch failed", detail: $"internal error ({e.GetType().Name}): {e.Message}", statusCode: StatusCodes.Status500InternalServerError),
    };
}
