// The client's `channel/*` requests, answered by the ChannelService (the
// registry lives in this process; see server/channel_service.h).
#include "rpc/error_code.h"
#include "server/channel_service.h"
#include "server/server.h"

namespace subcell {

void Server::on_channel_request(std::string_view method, const rpc::Json& params, rpc::Reply reply) {
  if (!channels_) return reply(Error{rpc::kMethodNotFound, std::string(method) + ": channels live in the server"});
  const std::string key = rpc::dump(reply.id());
  auto shared = std::make_shared<rpc::Reply>(std::move(reply));
  channels_->request(0, method, params, key, [shared](Result<rpc::Json> r) { (*shared)(std::move(r)); });
}

}  // namespace subcell
