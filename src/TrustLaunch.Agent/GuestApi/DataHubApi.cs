using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.GuestApi.DataHub;

namespace TrustLaunch.Agent.GuestApi;

/// <summary>CoCo's data hub GetResource on the node's socket: <c>ResourcePath</c> is a <c>kbs:///REPOSITORY/TYPE/TAG</c> URI.</summary>
public sealed class DataHubResourceApi(WorkloadServices services) : GetResourceService.GetResourceServiceBase
{
    public override Task<GetResourceResponse> GetResource(GetResourceRequest request, ServerCallContext context) =>
        GuestApiStatus.RunAsync(async () =>
        {
            var bytes = await services.ResourceAsync(WorkloadIdentity.Node, request.ResourcePath, context.CancellationToken).ConfigureAwait(false);
            try
            {
                return new GetResourceResponse { Resource = ByteString.CopyFrom(bytes) };
            }
            finally
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        });
}

/// <summary>CoCo's data hub UnsealSecret on the node's socket: the <c>sealed.…</c> form, measured as
/// <c>SecretReleased</c> named <see cref="SecretName"/> (CoCo's request carries no name).</summary>
public sealed class DataHubSecretApi(WorkloadServices services) : SealedSecretService.SealedSecretServiceBase
{
    public const string SecretName = "cdh.UnsealSecret";

    public override Task<UnsealSecretOutput> UnsealSecret(UnsealSecretInput request, ServerCallContext context) =>
        GuestApiStatus.RunAsync(async () =>
        {
            string sealedText;
            try
            {
                sealedText = new UTF8Encoding(false, true).GetString(request.Secret.Span);
            }
            catch (DecoderFallbackException)
            {
                throw new WorkloadRequestRefusedException("the sealed secret is not UTF-8");
            }
            var value = await services.UnsealAsync(WorkloadIdentity.Node, SecretName, sealedText, context.CancellationToken).ConfigureAwait(false);
            try
            {
                return new UnsealSecretOutput { Plaintext = ByteString.CopyFrom(value) };
            }
            finally
            {
                CryptographicOperations.ZeroMemory(value);
            }
        });
}
