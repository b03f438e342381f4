using System.CommandLine;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Cli.Output;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>
/// <c>trustlaunch golden countersign REF --key KEYREF</c>: a store (registry operator) adds its signature to the golden
/// value published for the image the registry serves under REF now, after checking that the golden value names that
/// manifest, config, layers and diff_ids; the result (JWS JSON, every signature kept) replaces the artifact tagged
/// <c>sha256-HEX.golden</c>. Existing signatures are not checked: the store vouches for the image it serves.
/// </summary>
public static class GoldenCountersignCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var key = new Option<string>("--key")
        {
            Description = "Store private key: a PEM file or a pkcs11: URI (PIN from its pin-source=FILE or $TRUSTLAUNCH_HSM_PIN); EC P-256 signs ES256, RSA RS256",
            HelpName = "KEYREF",
            Required = true,
        };
        var platform = RegistryOptions.PlatformOption();
        var command = new Command("countersign", "Add a store signature to an image's golden value and push it back") { reference, key, platform };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var signer = SigningKeys.Open(parse.GetValue(key)!);
            using var signerLifetime = signer as IDisposable;
            using var client = registry.CreateClient(parse, options.Input, r);
            var fetched = await PublishedGolden.FetchAsync(client, r, RegistryOptions.ParsePlatform(parse.GetValue(platform)), ct).ConfigureAwait(false);
            string countersigned;
            GoldenValue value;
            try
            {
                (countersigned, value) = GoldenCountersign.Add(fetched.Jws!, signer);
            }
            catch (FormatException e)
            {
                throw new CliFailureException($"{fetched.TagReference}: not countersigned: {e.Message}");
            }
            var config = await GoldenFetch.FetchConfigAsync(client, fetched.Image, ct).ConfigureAwait(false);
            var observed = new ObservedImage(fetched.Image.Manifest.Digest, fetched.Image.Parsed.Config.Digest,
                fetched.Image.Parsed.Layers.Select(l => l.Digest).ToList(), config.RootFs.DiffIds);
            if (value.FindMismatch(observed) is { } mismatch)
                throw new CliFailureException($"{fetched.TagReference}: not countersigned: {mismatch}");

            var subject = new OciDescriptor { MediaType = fetched.Image.Manifest.MediaType, Digest = fetched.Image.Manifest.Digest, Size = fetched.Image.Manifest.Bytes.Length };
            var artifact = GoldenArtifact.Build(countersigned, subject);
            var artifactDigest = await GoldenArtifact.PushAsync(client, fetched.TagReference, artifact, ct).ConfigureAwait(false);

            var signers = JwsJson.ParseSignatures(countersigned).Select(s => s.KeyId!).ToList();
            var result = new GoldenCountersignResult(r.ToString(), fetched.Image.Manifest.Digest.ToString(), fetched.TagReference.ToString(),
                artifactDigest.ToString(), signer.KeyId, signer.Algorithm, GoldenValue.JwsDigest(countersigned), signers);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.GoldenCountersignResult, (w, x) =>
            {
                w.WriteLine($"countersigned {x.Tag}");
                w.WriteLine($"image:   {x.Reference} {x.ManifestDigest}");
                w.WriteLine($"key id:  {x.KeyId} ({x.Algorithm})");
                w.WriteLine($"signers: {string.Join(", ", x.Signers)}");
                w.WriteLine($"golden:  {x.Golden}");
            }).ConfigureAwait(false);
        });
        return command;
    }
}
