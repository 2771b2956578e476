using System.Buffers;
using Dcis.Crisis.ThreatLevels.Domain;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Grpc;

/// <summary>
/// Binds <see cref="ThreatLevelsGrpcService"/> like the generated code does, except that the two hot
/// read RPCs (ListAssessments, GetEffectiveLevel) get a response marshaller that copies pre-encoded
/// bytes (<see cref="EncodedMessages"/>) instead of serialising the same messages on every call: a
/// snapshot's cached list response, or a cached effective-level response (<see cref="Domain.LevelResponses"/>), whole; else each snapshot assessment's bytes. The bytes on the wire are a valid encoding of the same message (the scalar fields come
/// first, then the assessments; protobuf parsers accept fields in any order), so clients see no
/// difference. Grpc.AspNetCore finds this bind method through the <see cref="BindServiceMethodAttribute"/>
/// on the service class, which takes precedence over the generated base class's.
/// </summary>
internal static class PreEncodedBinding
{
    private static readonly Marshaller<ListAssessmentsResponse> ListMarshaller = Marshallers.Create<ListAssessmentsResponse>(
        (response, context) =>
        {
            if (EncodedMessages.Find(response) is { } whole)
            {
                context.Complete(whole);
                return;
            }

            Write(context, new ListAssessmentsResponse { NextPageToken = response.NextPageToken, LatestSequence = response.LatestSequence },
                singleField: 0, single: null, ListAssessmentsResponse.AssessmentsFieldNumber, response.Assessments);
        },
        context => ListAssessmentsResponse.Parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    private static readonly Marshaller<GetEffectiveLevelResponse> LevelMarshaller = Marshallers.Create<GetEffectiveLevelResponse>(
        (response, context) =>
        {
            if (EncodedMessages.Find(response) is { } whole)
            {
                context.Complete(whole);
                return;
            }

            Write(context,
                new GetEffectiveLevelResponse { Level = response.Level, Source = response.Source, CountryLevel = response.CountryLevel, CountryCode = response.CountryCode },
                GetEffectiveLevelResponse.AssessmentFieldNumber, response.Assessment, GetEffectiveLevelResponse.ZonesFieldNumber, response.Zones);
        },
        context => GetEffectiveLevelResponse.Parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    /// <summary>Called by Grpc.AspNetCore (found by the attribute on the service class).</summary>
    public static void BindService(ServiceBinderBase serviceBinder, ThreatLevelsService.ThreatLevelsServiceBase serviceImpl) =>
        ThreatLevelsService.BindService(new Binder(serviceBinder), serviceImpl);

    /// <summary>The method with the pre-encoding response marshaller, for the two read RPCs; otherwise the method itself.</summary>
    internal static Method<TRequest, TResponse> Substitute<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var marshaller = typeof(TResponse) == typeof(ListAssessmentsResponse) ? (Marshaller<TResponse>)(object)ListMarshaller
            : typeof(TResponse) == typeof(GetEffectiveLevelResponse) ? (Marshaller<TResponse>)(object)LevelMarshaller
            : null;
        return marshaller is null ? method : new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, method.RequestMarshaller, marshaller);
    }

    /// <summary>
    /// Writes <paramref name="shell"/> (the response without its assessments), then the single and the
    /// repeated assessment fields as length-delimited copies of their bytes.
    /// </summary>
    private static void Write(SerializationContext context, IMessage shell, int singleField, Assessment? single, int repeatedField, RepeatedField<Assessment> repeated)
    {

        var count = repeated.Count + (single is null ? 0 : 1);
        var parts = ArrayPool<byte[]>.Shared.Rent(Math.Max(1, count));
        try
        {
            var total = shell.CalculateSize();
            var n = 0;
            if (single is not null)
            {
                parts[n] = EncodedMessages.Find(single) ?? single.ToByteArray();
                total += FieldSize(singleField, parts[n++].Length);
            }

            for (var i = 0; i < repeated.Count; i++)
            {
                parts[n] = EncodedMessages.Find(repeated[i]) ?? repeated[i].ToByteArray();
                total += FieldSize(repeatedField, parts[n++].Length);
            }

            context.SetPayloadLength(total);
            var writer = context.GetBufferWriter();
            shell.WriteTo(writer);
            n = 0;
            if (single is not null)
            {
                WriteField(writer, singleField, parts[n++]);
            }

            for (var i = 0; i < repeated.Count; i++)
            {
                WriteField(writer, repeatedField, parts[n++]);
            }

            context.Complete();
        }
        finally
        {
            ArrayPool<byte[]>.Shared.Return(parts, clearArray: true);
        }
    }

    private static int FieldSize(int field, int length) =>
        CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(length) + length;

    private static void WriteField(IBufferWriter<byte> writer, int field, byte[] bytes)
    {
        var header = writer.GetSpan(10);
        var used = WriteVarint(header, WireFormat.MakeTag(field, WireFormat.WireType.LengthDelimited));
        used += WriteVarint(header[used..], (uint)bytes.Length);
        writer.Advance(used);
        writer.Write(bytes);
    }

    private static int WriteVarint(Span<byte> span, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        return i;
    }

    /// <summary>Forwards every method to Grpc.AspNetCore's binder, substituting the two read methods.</summary>
    private sealed class Binder(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Substitute(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(method, handler);
    }
}
