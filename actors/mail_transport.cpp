// mail_transport.cpp: the real-mail transport: a coordinator actor (cooperative, never
// blocks) that queues calls per host and hands them to detached workers doing the
// blocking SMTP/IMAP work.
#include "actors/mail_transport.hpp"

#include "net/imap_session.hpp"
#include "net/oauth_token_source.hpp"
#include "net/receive_flow.hpp"
#include "net/smtp_client.hpp"
#include "storage/open_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <deque>

namespace warmup::detail {

// One call for a worker.
struct mail_job {
  bool is_send = true;
  bool is_reload = false;    // (with !is_send) read the account again, drop cached logins
  bool is_cleanup = false;   // (with !is_send) the daily cleanup of the warmup folder
  std::shared_ptr<const real_mailbox> box;
  outgoing_mail out;      // is_send
  receive_task task;      // !is_send
  int attempt = 1;
};

// A secret re-sealed by a worker after the provider rotated the refresh token.
struct resealed_secret {
  std::string replaced;   // the sealed bytes the worker's login was opened from
  std::string sealed;     // the same secret with the new refresh token
};

struct mail_job_result {
  std::shared_ptr<const real_mailbox> reloaded;   // is_reload: the account as stored now
  std::optional<resealed_secret> resealed;
  send_result sent;
  receive_result received;
  bool retry_safe = false;   // the send failed before DATA: trying again cannot duplicate
};

}  // namespace warmup::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::detail::mail_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(warmup::detail::mail_job_result)

namespace warmup {

using detail::mail_job;
using detail::mail_job_result;
using detail::resealed_secret;

namespace {

using retry_atom = caf::atom_constant<caf::atom("retry")>;

transport_error error_label(const net::mail_error& e) {
  switch (e.kind) {
    case net::mail_error_kind::auth: return transport_error::auth;
    case net::mail_error_kind::tls: return transport_error::tls;
    case net::mail_error_kind::permanent_recipient: return transport_error::rejected;
    case net::mail_error_kind::protocol: return transport_error::protocol;
    case net::mail_error_kind::network: return transport_error::connect;
    case net::mail_error_kind::temporary:
      if (e.reply_code >= 400)
        return transport_error::rejected;
      return e.detail.find("imed out") != std::string::npos ? transport_error::timeout
                                                             : transport_error::connect;
  }
  return transport_error::protocol;
}

// True when the client never started DATA: the server cannot have taken the message.
bool before_data(const std::vector<net::transcript_line>& transcript) {
  for (const auto& l : transcript) {
    if (l.from_server || l.text.size() < 4)
      continue;
    std::string head = l.text.substr(0, 4);
    for (auto& c : head)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (head == "DATA")
      return false;
  }
  return true;
}

// -- workers ----------------------------------------------------------------------------

struct worker_link {
  std::unique_ptr<net::smtp_client> smtp;
  std::unique_ptr<net::imap_session> imap;
  std::optional<account_secret> secret;
  std::string secret_sealed;   // the sealed bytes `secret` was opened from
  std::optional<resealed_secret> resealed;   // for the coordinator, with the job's result
  std::unique_ptr<net::oauth_token_source> oauth;   // caches the access token
  std::uint32_t replies_seen_uid = 0;   // INBOX replies up to this UID were looked at
};

struct mail_worker_state {
  const engine_context* ctx = nullptr;
  mail_transport_options opts;
  secret_opener open_secret;
  std::unordered_map<mailbox_id, worker_link> links;
  // The worker's own read-only store connection (the registry of our Message-IDs), opened
  // on first use: a store connection is never shared across threads.
  std::unique_ptr<storage::store> registry;
  static inline const char* name = "mail_worker";
};

using worker_ptr = caf::stateful_actor<mail_worker_state>*;

worker_link& link_of(worker_ptr self, const real_mailbox& box) {
  auto& st = self->state;
  auto it = st.links.find(box.id);
  if (it == st.links.end()) {
    if (st.links.size() >= st.opts.sessions_per_worker)
      st.links.clear();   // drop idle connections wholesale; they reconnect on demand
    it = st.links.emplace(box.id, worker_link{}).first;
  }
  return it->second;
}

// The provider answered with a new refresh token (and may have revoked the old one): the
// login keeps using it, and the secret is sealed again for the store, so that the next
// start (or a reload) does not log in with a dead token.
void keep_rotated_token(worker_ptr self, const real_mailbox& box, worker_link& l) {
  auto& st = self->state;
  l.secret->refresh_token = l.oauth->refresh_token();
  if (!st.opts.seal_secret) {
    spdlog::warn("event=rotated_secret_not_stored mailbox={} reason=\"no secret key to seal "
                 "it with: the new refresh token lives until the node stops\"",
                 box.id);
    return;
  }
  try {
    auto sealed = st.opts.seal_secret(*l.secret);
    auto replaced = l.resealed ? l.resealed->replaced : l.secret_sealed;
    l.resealed = resealed_secret{std::move(replaced), sealed};
    l.secret_sealed = std::move(sealed);
    spdlog::info("event=oauth_refresh_token_rotated mailbox={}", box.id);
  } catch (const std::exception& e) {
    spdlog::error("event=rotated_secret_not_stored mailbox={} reason=\"{}\"", box.id, e.what());
  }
}

net::mail_result<net::mail_login> login_for(worker_ptr self, const real_mailbox& box,
                                            worker_link& l) {
  auto& st = self->state;
  const auto username = box.account.username.empty() ? box.email : box.account.username;
  if (!l.secret) {
    try {
      l.secret = st.open_secret(box.sealed_secret);
      l.secret_sealed = box.sealed_secret;
    } catch (const std::exception& e) {
      net::mail_error err;
      err.kind = net::mail_error_kind::auth;
      err.host = box.account.smtp.host;
      err.detail = std::string("cannot open the stored secret: ") + e.what();
      return err;
    }
  }
  if (box.account.auth == auth_method::password)
    return net::mail_login{username, l.secret->password, auth_method::password};
  if (!l.oauth) {
    net::oauth_options o;
    o.timeouts = st.opts.timeouts;
    l.oauth = std::make_unique<net::oauth_token_source>(box.account, l.secret->client_secret,
                                                        l.secret->refresh_token, o);
  }
  // Token lifetimes are real time, whatever the engine clock's scale.
  auto login = l.oauth->login(username, engine_clock::system_now());
  if (login && l.oauth->refresh_token() != l.secret->refresh_token)
    keep_rotated_token(self, box, l);
  return login;
}

void count_error(const engine_context* ctx, bool smtp, const net::mail_error& e) {
  auto& arr = smtp ? ctx->counters.smtp_errors : ctx->counters.imap_errors;
  arr[static_cast<std::size_t>(error_label(e))]++;
}

mail_job_result do_send(worker_ptr self, const mail_job& job) {
  auto& st = self->state;
  const auto& box = *job.box;
  auto& l = link_of(self, box);
  mail_job_result r;
  auto fail = [&](const net::mail_error& e, bool retry_safe) {
    count_error(st.ctx, true, e);
    r.sent.detail = e.message();
    r.retry_safe = retry_safe;
    switch (e.kind) {
      case net::mail_error_kind::auth:
      case net::mail_error_kind::tls:
        // The user has to fix the login or the certificate set-up: no more attempts.
        r.sent.status = send_status::auth_failure;
        break;
      case net::mail_error_kind::permanent_recipient:
        r.sent.status = send_status::bounced;
        break;
      default:
        r.sent.status = send_status::temporary_failure;
    }
    spdlog::warn("event=smtp_send_failed mailbox={} host={} kind={} attempt={} reason=\"{}\"",
                 box.id, e.host, net::to_string(e.kind), job.attempt, e.message());
    return r;
  };
  auto login = login_for(self, box, l);
  if (!login)
    return fail(login.error(), false);
  if (!l.smtp) {
    net::smtp_options o;
    o.timeouts = st.opts.timeouts;
    l.smtp = std::make_unique<net::smtp_client>(box.account, o);
  }
  auto sent = l.smtp->send(job.out.message, *login);
  if (!sent)
    return fail(sent.error(), before_data(l.smtp->last_transcript()));
  r.sent.status = send_status::sent;
  if (!provider_saves_sent_mail(box.provider)) {
    // A person's client keeps a copy in Sent; most servers do not do it for SMTP.
    if (!l.imap)
      l.imap = std::make_unique<net::imap_session>(box.account, *login,
                                                   net::imap_options{st.opts.timeouts, true});
    l.imap->set_login(*login);
    auto folders = l.imap->folders();
    net::mail_status appended = net::mail_ok();
    if (!folders)
      appended = folders.error();
    else if (!folders->sent.empty())
      if (auto a = l.imap->append(folders->sent, to_rfc5322(job.out.message)); !a)
        appended = a.error();
    if (!appended) {
      count_error(st.ctx, false, appended.error());
      spdlog::warn("event=imap_sent_copy_failed mailbox={} reason=\"{}\"", box.id,
                   appended.error().message());
    }
  }
  return r;
}

mail_job_result do_process(worker_ptr self, const mail_job& job) {
  auto& st = self->state;
  const auto& box = *job.box;
  auto& l = link_of(self, box);
  mail_job_result r;
  auto fail = [&](const net::mail_error& e) {
    count_error(st.ctx, false, e);
    r.received.where = storage::placement::unknown;
    r.received.detail = e.message();
    r.received.disconnected = e.kind == net::mail_error_kind::auth
                              || e.kind == net::mail_error_kind::tls;
    // A broken session is not reused: the next call reconnects.
    l.imap.reset();
    spdlog::warn("event=imap_process_failed mailbox={} host={} kind={} reason=\"{}\"", box.id,
                 e.host, net::to_string(e.kind), e.message());
    return r;
  };
  auto login = login_for(self, box, l);
  if (!login)
    return fail(login.error());
  if (!l.imap)
    l.imap = std::make_unique<net::imap_session>(box.account, *login,
                                                 net::imap_options{st.opts.timeouts, true});
  l.imap->set_login(*login);
  net::receive_flow_options fo;
  fo.warmup_folder = st.opts.warmup_folder;
  auto done = net::process_warmup_message(*l.imap, job.task.message_id, job.task.engagement, fo);
  if (!done)
    return fail(done.error());
  switch (done->where) {
    case net::found_in::inbox: r.received.where = storage::placement::inbox; break;
    case net::found_in::spam: r.received.where = storage::placement::spam; break;
    case net::found_in::missing: r.received.where = storage::placement::missing; break;
  }
  r.received.rescued = done->rescued;
  r.received.filed = done->filed;
  return r;
}

// The worker's read-only store connection (the registry of our Message-IDs, the accounts),
// opened on first use and again after a failure; nullptr while the store cannot be opened.
storage::store* store_of(worker_ptr self) {
  auto& st = self->state;
  if (!st.registry) {
    try {
      st.registry = storage::open_store(st.ctx->cfg.store.database_url, st.ctx->cfg.data_dir, true);
    } catch (const std::exception& e) {
      spdlog::warn("event=registry_unavailable reason=\"{}\"", e.what());
    }
  }
  return st.registry.get();
}

// The value of header `name` in raw header text ("Name: value" lines, folded or not).
std::string header_value(const std::string& headers, std::string_view name) {
  std::size_t at = 0;
  while (at < headers.size()) {
    auto end = headers.find('\n', at);
    if (end == std::string::npos)
      end = headers.size();
    std::string_view line(headers.data() + at, end - at);
    if (line.size() > name.size() && line[name.size()] == ':') {
      bool same = true;
      for (std::size_t i = 0; i < name.size(); ++i)
        same = same && std::tolower(static_cast<unsigned char>(line[i]))
                         == std::tolower(static_cast<unsigned char>(name[i]));
      if (same) {
        auto v = line.substr(name.size() + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
          v.remove_prefix(1);
        while (!v.empty() && (v.back() == '\r' || v.back() == ' '))
          v.remove_suffix(1);
        return std::string(v);
      }
    }
    at = end + 1;
  }
  return {};
}

// Replies a person wrote to this mailbox's warmup messages: INBOX messages answering a
// Message-ID of our registry that are not ours themselves. They are left in the inbox
// (the engine only ever moves mail it was told to expect); here they are counted and
// logged so the user sees the warmup reached a human.
void recognise_human_replies(worker_ptr self, const real_mailbox& box, worker_link& l) {
  auto& st = self->state;
  if (!store_of(self))
    return;
  auto folders = l.imap->folders();
  if (!folders)
    return;
  auto uids = l.imap->search_replies(folders->inbox, l.replies_seen_uid);
  if (!uids)
    return;
  constexpr std::size_t max_per_pass = 200;
  std::size_t looked = 0;
  for (auto uid : *uids) {
    if (++looked > max_per_pass)
      break;
    l.replies_seen_uid = std::max(l.replies_seen_uid, uid);
    auto h = l.imap->fetch_headers(folders->inbox, uid, {"Message-ID", "In-Reply-To"});
    if (!h)
      continue;
    const auto own = header_value(*h, "Message-ID");
    const auto parent = header_value(*h, "In-Reply-To");
    if (parent.empty() || !st.registry->find_message(parent) || st.registry->find_message(own))
      continue;
    st.ctx->counters.human_replies++;
    spdlog::info("event=human_reply mailbox={} uid={} in_reply_to={} note=\"a person answered "
                 "a warmup message; left in the inbox\"",
                 box.id, uid, parent);
  }
}

// The daily housekeeping of a mailbox: replies a person wrote are recognised, and warmup
// mail older than cleanup_days leaves the warmup folder (deleted, or archived). Ages are real time: INTERNALDATE is when the
// server received the message, whatever the engine clock says.
void do_cleanup(worker_ptr self, const mail_job& job) {
  auto& st = self->state;
  const auto& box = *job.box;
  auto& l = link_of(self, box);
  auto login = login_for(self, box, l);
  if (!login)
    return;   // the next process call reports the login problem
  if (!l.imap)
    l.imap = std::make_unique<net::imap_session>(box.account, *login,
                                                 net::imap_options{st.opts.timeouts, true});
  l.imap->set_login(*login);
  recognise_human_replies(self, box, l);
  if (st.opts.cleanup_days <= 0)
    return;
  auto folder = l.imap->full_name(st.opts.warmup_folder);
  std::string archive;
  if (folder && st.opts.cleanup_archives)
    if (auto f = l.imap->folders(); f)
      archive = f->archive;
  if (folder && st.opts.cleanup_archives && archive.empty()) {
    spdlog::warn("event=imap_cleanup_skipped mailbox={} reason=\"cleanup_action is archive but "
                 "the server has no Archive folder\"", box.id);
    return;
  }
  auto done = folder ? l.imap->cleanup(*folder, st.opts.cleanup_days,
                                       engine_clock::system_now(), archive)
                     : net::mail_result<net::imap_cleanup_result>(folder.error());
  if (!done) {
    count_error(st.ctx, false, done.error());
    spdlog::warn("event=imap_cleanup_failed mailbox={} reason=\"{}\"", box.id,
                 done.error().message());
    l.imap.reset();
    return;
  }
  if (done->removed > 0)
    spdlog::info("event=imap_cleanup mailbox={} removed={} action={}", box.id, done->removed,
                 st.opts.cleanup_archives ? "archive" : "delete");
}

// The account of a mailbox as the store holds it now (after `warmup mailbox update`);
// the cached logins and connections of the mailbox are dropped either way.
std::shared_ptr<const real_mailbox> do_reload(worker_ptr self, const mail_job& job) {
  auto& st = self->state;
  st.links.erase(job.box->id);
  if (!store_of(self))
    return nullptr;
  try {
    auto r = st.registry->get_mailbox(job.box->id);
    if (!r)
      return nullptr;
    spdlog::info("event=mail_account_reloaded mailbox={}", r->settings.id);
    return std::make_shared<const real_mailbox>(real_mailbox{
      r->settings.id, r->settings.email, r->settings.provider, r->account, r->sealed_secret});
  } catch (const std::exception& e) {
    spdlog::warn("event=mail_account_reload_failed mailbox={} reason=\"{}\"", job.box->id,
                 e.what());
    return nullptr;
  }
}

caf::behavior mail_worker(worker_ptr self, const engine_context* ctx, mail_transport_options opts,
                          secret_opener open_secret) {
  self->state.ctx = ctx;
  self->state.opts = std::move(opts);
  self->state.open_secret = std::move(open_secret);
  return {
    [=](const mail_job& job) -> mail_job_result {
      mail_job_result r;
      if (job.is_cleanup)
        do_cleanup(self, job);
      else if (job.is_reload)
        r.reloaded = do_reload(self, job);
      else
        r = job.is_send ? do_send(self, job) : do_process(self, job);
      if (auto it = self->state.links.find(job.box->id);
          it != self->state.links.end() && it->second.resealed) {
        r.resealed = std::move(it->second.resealed);
        it->second.resealed.reset();
      }
      return r;
    },
  };
}

// -- coordinator ------------------------------------------------------------------------

struct pending_call {
  mail_job job;
  std::string host;
  caf::typed_response_promise<send_result> send_rp;
  caf::typed_response_promise<receive_result> receive_rp;
};

struct host_queue {
  std::size_t active = 0;
  std::deque<pending_call> waiting;
};

struct mail_coordinator_state {
  const engine_context* ctx = nullptr;
  mail_transport_options opts;
  std::unordered_map<mailbox_id, std::shared_ptr<const real_mailbox>> boxes;
  std::vector<caf::actor> workers;
  std::unordered_map<std::string, host_queue> hosts;
  std::unordered_map<std::uint64_t, pending_call> backing_off;
  std::unordered_map<mailbox_id, std::int64_t> cleaned_on;   // real day of the last cleanup
  std::uint64_t next_retry = 0;
  static inline const char* name = "mail_transport";
};

using coordinator_ptr = caf::stateful_actor<mail_coordinator_state>*;

void dispatch(coordinator_ptr self, const std::string& host);

// A worker re-sealed a mailbox's secret: later logins of any worker open the new bytes,
// and the store keeps them (unless the user changed the secret meanwhile).
void keep_resealed(coordinator_ptr self, mailbox_id m, resealed_secret r) {
  auto& st = self->state;
  if (auto it = st.boxes.find(m); it != st.boxes.end() && it->second->sealed_secret == r.replaced) {
    auto box = std::make_shared<real_mailbox>(*it->second);
    box->sealed_secret = r.sealed;
    it->second = std::move(box);
  }
  if (st.ctx->store)
    self->send(st.ctx->store, atom::secret::value, m, std::move(r.replaced), std::move(r.sealed));
}

void finish(coordinator_ptr self, pending_call call, mail_job_result res) {
  auto& st = self->state;
  auto& job = call.job;
  if (res.resealed)
    keep_resealed(self, job.box->id, std::move(*res.resealed));
  if (job.is_send && res.sent.status == send_status::temporary_failure && res.retry_safe
      && job.attempt < st.opts.send_attempts) {
    // Nothing left: wait (2 s, 4 s, 8 s ... capped) and try again.
    std::chrono::milliseconds delay = st.opts.first_backoff * (1 << std::min(job.attempt - 1, 20));
    delay = std::min(delay, st.opts.max_backoff);
    ++job.attempt;
    auto id = st.next_retry++;
    st.backing_off.emplace(id, std::move(call));
    self->delayed_send(self, delay, retry_atom::value, id);
    return;
  }
  if (job.is_reload && res.reloaded)
    st.boxes[res.reloaded->id] = res.reloaded;
  if (job.is_cleanup || job.is_reload)
    return;
  if (job.is_send)
    call.send_rp.deliver(std::move(res.sent));
  else
    call.receive_rp.deliver(std::move(res.received));
}

void dispatch(coordinator_ptr self, const std::string& host) {
  auto& st = self->state;
  auto& q = st.hosts[host];
  while (q.active < st.opts.per_host && !q.waiting.empty()) {
    auto call = std::move(q.waiting.front());
    q.waiting.pop_front();
    ++q.active;
    const auto& worker = st.workers[call.job.box->id % st.workers.size()];
    auto job = call.job;
    self->request(worker, caf::infinite, std::move(job))
      .then(
        [=](mail_job_result& res) mutable {
          --self->state.hosts[host].active;
          finish(self, std::move(call), std::move(res));
          dispatch(self, host);
        },
        [=](caf::error& err) mutable {
          --self->state.hosts[host].active;
          mail_job_result res;
          res.sent.status = send_status::temporary_failure;
          res.sent.detail = "mail worker failed: " + caf::to_string(err);
          res.received.detail = res.sent.detail;
          finish(self, std::move(call), std::move(res));
          dispatch(self, host);
        });
  }
}

// A call for mailbox `box`'s IMAP host (processing, reload or cleanup), queued per host.
pending_call imap_call(const std::shared_ptr<const real_mailbox>& box) {
  pending_call call;
  call.job.is_send = false;
  call.job.box = box;
  call.host = "imap:" + box->account.imap.host;
  return call;
}

void enqueue(coordinator_ptr self, pending_call call) {
  auto host = call.host;
  self->state.hosts[host].waiting.push_back(std::move(call));
  dispatch(self, host);
}

caf::behavior mail_coordinator(coordinator_ptr self, const engine_context* ctx,
                               std::vector<real_mailbox> mailboxes, mail_transport_options opts,
                               secret_opener open_secret) {
  auto& st = self->state;
  st.ctx = ctx;
  st.opts = opts;
  for (auto& m : mailboxes) {
    if (!m.account.tls_verify)
      spdlog::warn("event=tls_verification_off mailbox={} smtp={} imap={} note=\"certificate "
                   "checks are off for this mailbox, as its settings say\"",
                   m.id, m.account.smtp.host, m.account.imap.host);
    auto id = m.id;
    st.boxes.emplace(id, std::make_shared<const real_mailbox>(std::move(m)));
  }
  const auto n = std::max<std::size_t>(1, opts.workers);
  for (std::size_t i = 0; i < n; ++i) {
    auto w = self->spawn<caf::detached + caf::linked>(mail_worker, ctx, opts, open_secret);
    st.workers.push_back(w);
  }
  return {
    [=](atom::send, outgoing_mail& out) -> caf::result<send_result> {
      auto& s = self->state;
      auto it = s.boxes.find(out.from);
      if (it == s.boxes.end())
        return send_result{send_status::temporary_failure,
                           "mailbox " + std::to_string(out.from)
                             + " has no SMTP account on this node"};
      pending_call call;
      call.job.is_send = true;
      call.job.box = it->second;
      call.job.out = std::move(out);
      call.host = "smtp:" + it->second->account.smtp.host;
      call.send_rp = self->make_response_promise<send_result>();
      auto rp = call.send_rp;
      enqueue(self, std::move(call));
      return rp;
    },
    [=](atom::process, receive_task& task) -> caf::result<receive_result> {
      auto& s = self->state;
      auto it = s.boxes.find(task.recipient);
      if (it == s.boxes.end()) {
        receive_result r;
        r.detail = "mailbox " + std::to_string(task.recipient)
                   + " has no IMAP account on this node";
        return r;
      }
      {
        // Once a (real) day per mailbox, before its first visit of the day: replies a
        // person wrote, then the cleanup of the warmup folder.
        const auto today = engine_clock::system_now() / ms_per_day;
        if (auto& last = s.cleaned_on[task.recipient]; last != today) {
          last = today;
          auto sweep = imap_call(it->second);
          sweep.job.is_cleanup = true;
          enqueue(self, std::move(sweep));
        }
      }
      auto call = imap_call(it->second);
      call.job.task = std::move(task);
      call.receive_rp = self->make_response_promise<receive_result>();
      auto rp = call.receive_rp;
      enqueue(self, std::move(call));
      return rp;
    },
    [=](atom::resume, mailbox_id id) {
      auto& s = self->state;
      auto it = s.boxes.find(id);
      if (it == s.boxes.end()) {
        // A mailbox that joined while the node runs: its account is read from the store
        // (until then it has none, and a send for it fails as temporary).
        auto joining = std::make_shared<real_mailbox>();
        joining->id = id;
        it = s.boxes.emplace(id, std::move(joining)).first;
      }
      auto call = imap_call(it->second);
      call.job.is_reload = true;
      enqueue(self, std::move(call));
    },
    [=](retry_atom, std::uint64_t id) {
      auto& s = self->state;
      auto it = s.backing_off.find(id);
      if (it == s.backing_off.end())
        return;
      auto call = std::move(it->second);
      s.backing_off.erase(it);
      enqueue(self, std::move(call));
    },
  };
}

}  // namespace

mail_transport_options mail_options_of(const config::mail_config& c) {
  mail_transport_options o;
  o.workers = static_cast<std::size_t>(c.workers);
  o.per_host = static_cast<std::size_t>(c.per_host);
  o.timeouts.total = std::chrono::seconds(c.timeout_seconds);
  o.timeouts.connect = std::min<std::chrono::milliseconds>(std::chrono::seconds(10),
                                                           o.timeouts.total);
  o.send_attempts = c.send_attempts;
  o.warmup_folder = c.warmup_folder;
  o.cleanup_days = c.cleanup_days;
  o.cleanup_archives = c.cleanup_action == "archive";
  return o;
}

bool provider_saves_sent_mail(const std::string& provider) {
  return provider == "gmail" || provider == "outlook";
}

transport_actor spawn_mail_transport(caf::actor_system& sys, const engine_context* ctx,
                                     std::vector<real_mailbox> mailboxes,
                                     mail_transport_options opts, secret_opener open_secret) {
  auto a = sys.spawn(mail_coordinator, ctx, std::move(mailboxes), std::move(opts),
                     std::move(open_secret));
  return caf::actor_cast<transport_actor>(a);
}

}  // namespace warmup
