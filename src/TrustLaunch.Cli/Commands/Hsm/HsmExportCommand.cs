using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;
using TrustLaunch.Jose;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm export</c>: public keys as PEM or JWK; a private key only to say it cannot leave.</summary>
public static class HsmExportCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var key = HsmIo.Key("Key: pkcs11:token=…;object=… or its label (a key pair exports its public half)");
        var format = new Option<string>("--format") { Description = "pem (SubjectPublicKeyInfo) or jwk", HelpName = "pem|jwk", DefaultValueFactory = _ => "pem" };
        format.AcceptOnlyFromAmong("pem", "jwk");
        var priv = new Option<bool>("--private") { Description = "Export the private key itself (refused for sensitive or non-extractable keys, i.e. by default)" };
        var output = HsmIo.Out("Write the key here (default: print it)");
        var command = new Command("export", "Export a public key as PEM or JWK") { key, format, priv, output };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var uri = HsmOptions.KeyUri(parse.GetValue(key)!);
            using var session = hsm.Open(parse, uri, login: parse.GetValue(priv));
            if (parse.GetValue(priv))
            {
                var secret = session.FindKey(uri, HsmObjectType.Private);
                session.EnsurePrivateExportable(secret);
                throw new CliFailureException($"{secret.Describe()} is extractable, but trustlaunch exports private keys only wrapped: use hsm wrap");
            }
            HsmKey k;
            try
            {
                k = session.FindKey(uri with { Type = uri.Type ?? HsmObjectType.Public });
            }
            catch (HsmException) when (uri.Type is null)
            {
                k = session.FindKey(uri, HsmObjectType.Private);
            }
            using var pub = session.GetPublicKey(k);
            var text = parse.GetValue(format) == "jwk" ? PublicKeyExport.ToJwk(pub) : PublicKeyExport.ToPem(pub);
            var outFile = parse.GetValue(output);
            if (outFile is not null)
                await File.WriteAllTextAsync(outFile, text, ct).ConfigureAwait(false);
            var result = new HsmExportResult(new Pkcs11Uri { Token = session.TokenLabel, Object = k.Label, Type = k.Type }.ToString(),
                parse.GetValue(format)!, Jwk.ThumbprintOf(pub), text, outFile);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmExportResult, (w, r) =>
            {
                if (r.OutFile is null)
                    w.Write(r.Format == "jwk" ? r.Key + "\n" : r.Key);
                else
                    w.WriteLine($"wrote {r.Format} public key (kid {r.KeyId}) to {r.OutFile}");
            }).ConfigureAwait(false);
        }));
        return command;
    }
}
