using System.Text.Json;
using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>
    /// The sandbox (pause) image runs in every pod, holding its namespaces, yet kubelet never pulls it: containerd
    /// pulls its configured <c>sandbox_image</c> at RunPodSandbox when its store lacks it. So before RunPodSandbox is
    /// forwarded, the image is judged like any other: one containerd holds already by its repository digest (as at
    /// CreateContainer), one it lacks pulled here first, judged, by its tag (the name containerd looks it up by).
    /// A refusal measures <c>ImageRejected</c> and no sandbox is created.
    /// </summary>
    private async Task EnsureSandboxImageVerifiedAsync(ServerCallContext context)
    {
        var name = await SandboxImageAsync(context).ConfigureAwait(false);
        var status = await containerd.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = name } }, Forwarded(context)).ConfigureAwait(false);
        if (status.Image is not { } present)
        {
            if (!ImageReference.TryParse(name, out var reference, out var error))
                throw new InvalidDataException($"containerd's sandbox_image '{name}' is not an image reference: {error}");
            await PullVerifiedAsync(reference, new PullImageRequest { Image = new ImageSpec { Image = name } }, sandboxImage: true, context).ConfigureAwait(false);
            return;
        }
        try
        {
            await VerifiedAsync(present, context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ImageRefusal.ReasonOf(e) is { } reason)
        {
            var refusal = SandboxImageRefusal(name, reason);
            await MeasureRejectedAsync(name, "", refusal, context.CancellationToken).ConfigureAwait(false);
            throw Refusal(refusal);
        }
    }

    private static string SandboxImageRefusal(string image, string reason) => $"sandbox image {image}: {reason}";

    /// <summary>containerd's <c>sandbox_image</c>, from its CRI plugin's configuration (verbose Status), asked each time: a restarted containerd may have another.</summary>
    private async Task<string> SandboxImageAsync(ServerCallContext context)
    {
        var status = await containerd.Runtime.StatusAsync(new StatusRequest { Verbose = true }, Forwarded(context)).ConfigureAwait(false);
        if (!status.Info.TryGetValue("config", out var config))
            throw new InvalidDataException($"containerd at {containerd.SocketPath} answered a verbose Status without its CRI config: cannot tell which sandbox image it runs");
        using var document = JsonDocument.Parse(config);
        return document.RootElement.TryGetProperty("sandboxImage", out var image) && image.ValueKind == JsonValueKind.String && image.GetString() is { Length: > 0 } name
            ? name
            : throw new InvalidDataException($"containerd at {containerd.SocketPath} names no sandboxImage in its CRI config");
    }
}
