using System.CommandLine;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Cli.Output;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Golden;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary><c>trustlaunch golden show REF</c>: prints the golden value found for the image, without trusting it.</summary>
public static class GoldenShowCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var platform = RegistryOptions.PlatformOption();
        var command = new Command("show", "Print an image's golden value as published (unverified: no signature check)") { reference, platform };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            using var client = registry.CreateClient(parse, options.Input, r);
            var fetched = await PublishedGolden.FetchAsync(client, r, RegistryOptions.ParsePlatform(parse.GetValue(platform)), ct).ConfigureAwait(false);
            IReadOnlyList<JwsParts> signatures;
            GoldenValue value;
            try
            {
                signatures = JwsJson.ParseSignatures(fetched.Jws!);
                value = GoldenValue.ParsePayload(signatures[0].Payload);
            }
            catch (FormatException e)
            {
                throw new CliFailureException($"{fetched.TagReference}: malformed golden value: {e.Message}");
            }
            var fields = new GoldenValueFields(value.Reference, value.ManifestDigest.ToString(), value.ConfigDigest.ToString(),
                value.LayerDigests.Select(d => d.ToString()).ToList(), value.DiffIds.Select(d => d.ToString()).ToList(),
                value.RootfsDigest.ToString(), value.Created, value.Expires, value.PublisherKeyId);
            var publisher = signatures.FirstOrDefault(s => s.KeyId == value.PublisherKeyId) ?? signatures[0];
            var result = new GoldenShowResult(false, fetched.TagReference.ToString(), publisher.Algorithm, publisher.KeyId, fields, signatures.Select(s => s.KeyId).ToList(),
                Oci.Content.Digest.Sha256(signatures[0].Payload).ToString());
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.GoldenShowResult, (w, x) =>
            {
                w.WriteLine($"golden value {x.Tag} (unverified: signature and publisher not checked)");
                w.WriteLine($"reference:     {x.Value.Reference}");
                w.WriteLine($"manifest:      {x.Value.ManifestDigest}");
                w.WriteLine($"config:        {x.Value.ConfigDigest}");
                for (var i = 0; i < x.Value.Layers.Count; i++)
                    w.WriteLine($"layer {i}:       {x.Value.Layers[i]} diff_id {x.Value.DiffIds[i]}");
                w.WriteLine($"rootfs:        {x.Value.RootfsDigest}");
                w.WriteLine($"created:       {GoldenPublishCommand.GoldenTime(x.Value.Created)}");
                w.WriteLine($"expires:       {GoldenPublishCommand.GoldenTime(x.Value.Expires)}");
                w.WriteLine($"publisher key: {x.Value.PublisherKeyId} ({x.Algorithm})");
                w.WriteLine($"signatures:    {string.Join(", ", x.Signers)}");
                w.WriteLine($"payload:       {x.Payload} (what a trust policy's revoked lists)");
            }).ConfigureAwait(false);
        });
        return command;
    }
}
