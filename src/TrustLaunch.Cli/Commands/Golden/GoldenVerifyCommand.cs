using System.CommandLine;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>
/// <c>trustlaunch golden verify REF --trust FILE|DIR [--rootfs DIR]</c>: checks the golden value published for the
/// image the registry serves under REF now — trusted publisher key, signature, validity window, manifest digest — then
/// compares config, layers and diff_ids (and, with <c>--rootfs</c>, an unpacked tree). Exit 0 <c>verified</c>, exit 3
/// <c>NOT verified: REASON</c>.
/// </summary>
public static class GoldenVerifyCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var trust = new Option<string>("--trust")
        {
            Description = "Trusted publisher public keys: a PEM file (one or more PUBLIC KEY blocks) or a directory of *.pem",
            HelpName = "FILE|DIR",
            Required = true,
        };
        var rootfs = new Option<string?>("--rootfs")
        {
            Description = "Also compare the tree digest of this unpacked root filesystem",
            HelpName = "DIR",
        };
        var platform = RegistryOptions.PlatformOption();
        var command = new Command("verify", "Verify an image against its signed golden value (exit 0 verified, 3 not verified)")
        {
            reference, trust, rootfs, platform,
        };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var trusted = SigningKeys.LoadTrusted(parse.GetValue(trust)!);
            var rootfsDigests = parse.GetValue(rootfs) is { } dir ? RootfsDigest.ComputeAll(Path.GetFullPath(dir), ct) : null;
            using var client = registry.CreateClient(parse, options.Input, r);
            var output = CliOutput.For(parse, options);

            var fetched = await GoldenFetch.FetchAsync(client, r, RegistryOptions.ParsePlatform(parse.GetValue(platform)), ct).ConfigureAwait(false);
            var manifestDigest = fetched.Image.Manifest.Digest.ToString();
            if (fetched.Missing)
                return await NotVerifiedAsync(output, r.ToString(), manifestDigest, $"no golden value for {r} (tag {fetched.Tag} not found)").ConfigureAwait(false);
            if (fetched.Malformed is { } why)
                return await NotVerifiedAsync(output, r.ToString(), manifestDigest, $"malformed golden value: {why}").ConfigureAwait(false);

            var verdict = GoldenValueVerifier.Verify(fetched.Jws!, trusted, fetched.Image.Manifest.Digest, DateTimeOffset.UtcNow);
            if (!verdict.IsVerified)
                return await NotVerifiedAsync(output, r.ToString(), manifestDigest, verdict.Reason!).ConfigureAwait(false);
            var value = verdict.Value!;
            var config = await GoldenFetch.FetchConfigAsync(client, fetched.Image, ct).ConfigureAwait(false);
            var rootfsDigest = rootfsDigests?.As(value.RootfsDigest);
            var observed = new ObservedImage(fetched.Image.Manifest.Digest, fetched.Image.Parsed.Config.Digest,
                fetched.Image.Parsed.Layers.Select(l => l.Digest).ToList(), config.RootFs.DiffIds, rootfsDigest);
            if (value.FindMismatch(observed) is { } mismatch)
                return await NotVerifiedAsync(output, r.ToString(), manifestDigest, mismatch).ConfigureAwait(false);

            var result = new GoldenVerifyResult(true, null, r.ToString(), manifestDigest, value.PublisherKeyId, value.Expires, rootfsDigest?.ToString(), verdict.Signers);
            return await output.WriteAsync(result, CliJsonContext.Output.GoldenVerifyResult, (w, x) =>
            {
                w.WriteLine("verified");
                w.WriteLine($"image:         {x.Reference} {x.ManifestDigest}");
                w.WriteLine($"publisher key: {x.PublisherKeyId}");
                w.WriteLine($"signers:       {string.Join(", ", x.Signers!)}");
                w.WriteLine($"expires:       {GoldenPublishCommand.GoldenTime(x.Expires!.Value)}");
                w.WriteLine($"rootfs:        {(x.RootfsDigest is null ? "not checked (no --rootfs)" : x.RootfsDigest + " matches")}");
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> NotVerifiedAsync(CliOutput output, string reference, string? manifestDigest, string reason)
    {
        await output.WriteAsync(new GoldenVerifyResult(false, reason, reference, manifestDigest, null, null, null),
            CliJsonContext.Output.GoldenVerifyResult, (w, x) => w.WriteLine($"NOT verified: {x.Reason}")).ConfigureAwait(false);
        return ExitCodes.NotVerified;
    }
}
