using Google.Protobuf;
using Grpc.Core;
using TrustLaunch.Agent.Gateway;
using TrustLaunch.Agent.GuestApi.AttestationAgent;

namespace TrustLaunch.Agent.GuestApi;

/// <summary>
/// CoCo's attestation agent on the node's socket (the caller is the node itself): GetEvidence (Trustee <c>tpm</c>
/// evidence binding the runtime data, base64 of its bytes as the nonce), GetToken (<c>kbs</c>: the broker's token and
/// tee key pair as <c>{"token","tee_keypair"}</c>), ExtendRuntimeMeasurement (a <c>WorkloadEvent</c> of the node; PCR
/// choice is the agent's: a RegisterIndex is refused).
/// </summary>
public sealed class AttestationAgentApi(WorkloadServices services) : AttestationAgentService.AttestationAgentServiceBase
{
    public override Task<GetEvidenceResponse> GetEvidence(GetEvidenceRequest request, ServerCallContext context) =>
        GuestApiStatus.RunAsync(async () => new GetEvidenceResponse
        {
            Evidence = ByteString.CopyFrom(await services.EvidenceAsync(WorkloadIdentity.Node, Convert.ToBase64String(request.RuntimeData.Span), context.CancellationToken)
                .ConfigureAwait(false)),
        });

    public override Task<GetTokenResponse> GetToken(GetTokenRequest request, ServerCallContext context) =>
        GuestApiStatus.RunAsync(async () =>
        {
            if (request.TokenType != "kbs")
                throw new WorkloadRequestRefusedException($"token_type '{request.TokenType}' is not supported: only 'kbs'");
            var token = await services.TokenAsync(WorkloadIdentity.Node, context.CancellationToken).ConfigureAwait(false);
            return new GetTokenResponse { Token = ByteString.CopyFrom(token.ToJson()) };
        });

    public override Task<ExtendRuntimeMeasurementResponse> ExtendRuntimeMeasurement(ExtendRuntimeMeasurementRequest request, ServerCallContext context) =>
        GuestApiStatus.RunAsync(async () =>
        {
            if (request.HasRegisterIndex)
                throw new WorkloadRequestRefusedException("RegisterIndex is not for the caller to choose: every event goes to the agent's launch PCR");
            await services.MeasureAsync(WorkloadIdentity.Node, request.Domain, request.Operation, request.Content, context.CancellationToken).ConfigureAwait(false);
            return new ExtendRuntimeMeasurementResponse();
        });
}
