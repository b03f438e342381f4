using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Hsm;
using TrustLaunch.Jose;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm keygen</c>.</summary>
public static class HsmKeygenCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var type = new Option<string>("--type") { Description = "rsa:2048|rsa:3072|rsa:4096|ec:p256|ec:p384|aes:128|aes:192|aes:256", HelpName = "TYPE", Required = true };
        var label = new Option<string>("--label") { Description = "Label (CKA_LABEL), the object= of the key's URI", HelpName = "LABEL", Required = true };
        var id = new Option<string?>("--id") { Description = "CKA_ID in hex (default: 8 random bytes)", HelpName = "HEX" };
        var extractable = new Option<bool>("--extractable") { Description = "Allow the private/secret key to leave the HSM wrapped (default: never)" };
        var usage = HsmIo.Usage();
        var command = new Command("keygen", "Generate a key (pair) on the token; private keys are sensitive and non-extractable")
        {
            type, label, id, extractable, usage,
        };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var (spec, keyUsage) = HsmIo.KeySpec(parse.GetValue(type)!, parse.GetValue(usage));
            var idBytes = parse.GetValue(id) is { } hex ? CliParsers.ParseHex(hex, "--id") : null;
            using var session = hsm.Open(parse);
            var key = session.GenerateKey(spec, new HsmKeyOptions { Label = parse.GetValue(label)!, Id = idBytes, Extractable = parse.GetValue(extractable), Usage = keyUsage });
            string? pem = null, keyId = null;
            if (spec.Kind != HsmKeyKind.Aes)
            {
                using var pub = session.GetPublicKey(key);
                pem = PublicKeyExport.ToPem(pub);
                keyId = Jwk.ThumbprintOf(pub);
            }
            var uri = new Pkcs11Uri { Token = session.TokenLabel, Object = key.Label, Type = key.Type }.ToString();
            var result = new HsmKeygenResult(uri, spec.ToString(), key.Label, Convert.ToHexStringLower(key.Id), parse.GetValue(extractable), keyId, pem);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmKeygenResult, (w, r) =>
            {
                w.WriteLine($"key:     {r.Uri}");
                w.WriteLine($"type:    {r.Type}  id={r.Id}  {(r.Extractable ? "extractable" : "non-extractable")}");
                if (r.KeyId is not null)
                    w.WriteLine($"kid:     {r.KeyId}");
                if (r.PublicKeyPem is not null)
                    w.Write(r.PublicKeyPem);
            }).ConfigureAwait(false);
        }));
        return command;
    }
}
