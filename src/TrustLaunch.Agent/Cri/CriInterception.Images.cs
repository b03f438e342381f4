using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Cri;

public sealed partial class CriInterception
{
    /// <summary>
    /// PullImage: resolve the reference once, judge the manifest and config against the golden value (or reuse a recent
    /// judgment of an image containerd holds), then have containerd pull that manifest by digest and check that what it
    /// stored is the verified image. Measures
    /// <c>ImagePulled</c> + <c>ImageVerified</c>, or <c>ImageRejected</c> and refuses.
    /// </summary>
    public async Task<PullImageResponse> PullImageAsync(PullImageRequest request, ServerCallContext context)
    {
        var spec = request.Image?.Image ?? "";
        if (!ImageReference.TryParse(spec, out var reference, out var error))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"image '{spec}': {error}"));
        return await PullVerifiedAsync(reference, request, sandboxImage: false, context).ConfigureAwait(false);
    }

    /// <summary>
    /// Judges <paramref name="reference"/> and has containerd pull the manifest judged: by digest, or for the
    /// <paramref name="sandboxImage"/> by its tag, which is the name containerd looks it up by at RunPodSandbox (a tag
    /// moved between the judgment and containerd's pull shows as another stored image and is refused); a refusal of
    /// the sandbox image says so.
    /// </summary>
    private async Task<PullImageResponse> PullVerifiedAsync(ImageReference reference, PullImageRequest request, bool sandboxImage, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        Digest? manifest = null;
        try
        {
            var source = registries.Source(reference);
            using var lease = registries.Client(source, request.Auth);
            var resolved = await lease.Client.ResolveImageAsync(source, cancellationToken: cancellationToken).ConfigureAwait(false);
            manifest = resolved.Manifest.Digest;
            await CheckEncryptedStorageAsync(resolved, context).ConfigureAwait(false);
            var byDigest = $"{reference.Name}@{manifest}";
            if (!sandboxImage && await HeldSinceAJudgmentAsync(reference, resolved, byDigest, context).ConfigureAwait(false) is { } held)
            {
                await MeasurePulledAsync(reference, held, cancellationToken).ConfigureAwait(false);
                return new PullImageResponse { ImageRef = held.Config.ToString() };
            }
            var verified = await JudgeAsync(lease.Client, reference, source, resolved, cancellationToken).ConfigureAwait(false);
            await OpenEncryptedLayersAsync(resolved, cancellationToken).ConfigureAwait(false);

            var forward = request.Clone();
            forward.Image ??= new ImageSpec();
            forward.Image.Image = sandboxImage && reference.Digest is null ? reference.ToString() : byDigest;
            forward.Auth = registries.ForwardedAuth(source, request.Auth);
            var pulled = await containerd.Images.PullImageAsync(forward, Forwarded(context)).ConfigureAwait(false);
            var status = await containerd.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = pulled.ImageRef } }, Forwarded(context)).ConfigureAwait(false);
            if (status.Image is not { } stored || stored.Id != verified.Config.ToString() || !stored.RepoDigests.Contains(byDigest))
            {
                throw new ImageNotVerifiedException($"containerd stored {forward.Image.Image} as image {status.Image?.Id ?? "(none)"} with digests [{string.Join(", ", status.Image?.RepoDigests ?? [])}], not the verified config {verified.Config}");
            }

            await MeasurePulledAsync(reference, verified, cancellationToken).ConfigureAwait(false);
            _verified[stored.Id] = verified;
            return pulled;
        }
        catch (Exception e) when (ImageRefusal.ReasonOf(e) is { } reason)
        {
            var refusal = sandboxImage ? SandboxImageRefusal(reference.ToString(), reason) : reason;
            await MeasureRejectedAsync(reference.ToString(), manifest?.ToString() ?? "", refusal, cancellationToken).ConfigureAwait(false);
            throw Refusal(refusal);
        }
    }

    /// <summary>
    /// The judgment of the manifest <paramref name="reference"/> resolves to, made under that same name less than the
    /// verification lifetime ago, when containerd still holds that image by its repository digest: the judgment stands,
    /// as at CreateContainer, and containerd has nothing to fetch (a pull of an image kubelet already has). A tag that
    /// moved resolves to another manifest and is judged again.
    /// </summary>
    private async Task<VerifiedImage?> HeldSinceAJudgmentAsync(ImageReference reference, ResolvedImage resolved, string byDigest, ServerCallContext context)
    {
        if (!_verified.TryGetValue(resolved.Parsed.Config.Digest.ToString(), out var known) || _time.GetUtcNow() - known.At >= verificationLifetime
            || known.Manifest != resolved.Manifest.Digest || known.Reference != reference.ToString())
            return null;
        var status = await containerd.Images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = byDigest } }, Forwarded(context)).ConfigureAwait(false);
        return status.Image is { } held && held.Id == known.Config.ToString() && held.RepoDigests.Contains(byDigest) ? known : null;
    }

    private async Task MeasurePulledAsync(ImageReference reference, VerifiedImage verified, CancellationToken cancellationToken)
    {
        await MeasureAsync(LaunchEvents.ImagePulled, new ImagePulledEvent(reference.ToString(), verified.Manifest.ToString()), LaunchEventsJsonContext.Default.ImagePulledEvent,
            cancellationToken).ConfigureAwait(false);
        await MeasureVerifiedAsync(verified, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The verified image containerd holds as <paramref name="image"/>: verified by a pull less than the verification
    /// lifetime ago, or judged now by its repository digest (pulled before the agent started, straight into containerd,
    /// or too long ago for the golden value's validity and the policy to be taken as they were).
    /// </summary>
    private async Task<VerifiedImage> VerifiedAsync(Image image, CancellationToken cancellationToken)
    {
        if (_verified.TryGetValue(image.Id, out var known) && _time.GetUtcNow() - known.At < verificationLifetime)
            return known;
        var named = image.RepoDigests.Select(d => ImageReference.TryParse(d, out var r, out _) ? r : null).FirstOrDefault(r => r?.Digest is not null)
                    ?? throw new ImageNotVerifiedException($"image {image.Id} has no repository digest to find its golden value by");
        var source = registries.Source(named);
        using var lease = registries.Client(source, null);
        var resolved = await lease.Client.ResolveImageAsync(source, cancellationToken: cancellationToken).ConfigureAwait(false);
        var verified = await JudgeAsync(lease.Client, named, source, resolved, cancellationToken).ConfigureAwait(false);
        if (verified.Config.ToString() != image.Id)
            throw new ImageNotVerifiedException($"image {image.Id} is not the config {verified.Config} that {named} names");
        await MeasureVerifiedAsync(verified, cancellationToken).ConfigureAwait(false);
        _verified[image.Id] = verified;
        return verified;
    }

    private async Task<VerifiedImage> JudgeAsync(RegistryClient client, ImageReference reference, ImageReference source,
        ResolvedImage resolved, CancellationToken cancellationToken)
    {
        var config = await GoldenFetch.FetchConfigAsync(client, resolved, cancellationToken).ConfigureAwait(false);
        var measured = new ImageMeasurement(source, resolved.Manifest.Digest, resolved.Parsed.Config.Digest,
            resolved.Parsed.Layers.Select(l => l.Digest).ToList(), config.RootFs.DiffIds);
        var approval = await judge.JudgeAsync(client, measured, cancellationToken).ConfigureAwait(false);
        return new VerifiedImage(reference.ToString(), measured.ManifestDigest, measured.ConfigDigest, approval, _time.GetUtcNow());
    }

    private Task MeasureVerifiedAsync(VerifiedImage image, CancellationToken cancellationToken) =>
        MeasureAsync(LaunchEvents.ImageVerified, image.Approval.ToEvent(image.Reference, image.Manifest.ToString(), judge.Mode),
            LaunchEventsJsonContext.Default.ImageVerifiedEvent, cancellationToken, image.Approval.GoldenValue);
}
