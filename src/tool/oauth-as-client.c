/* oauth-as-client — manage mod_oauth_as clients and tokens, in the spirit of
 * htpasswd. The command line: global options, a command, its options.
 * Options may come before or after the command; each command says which it
 * takes (OPT_* bits) and refuses others. See man/oauth-as-client.1. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "oac.h"

#define WHERE (OPT_REGISTRY | OPT_CONFIG | OPT_DEFINED)
#define FIELDS (OPT_NAME | OPT_COMMENT | OPT_REDIRECT | OPT_GRANT | OPT_SCOPE | OPT_LIFETIME \
                | OPT_REFRESH)
#define TOKENS (OPT_STORE | OPT_CONFIG)

typedef int cmd_fn(oac_opts_t *o);

typedef struct cmd_t {
    const char *name;
    cmd_fn *fn;
    unsigned opts;               /* the options it takes */
    int nargs;                   /* positional arguments it needs */
    const char *synopsis;
    const char *help;
} cmd_t;

static const cmd_t CMDS[] = {
    { "add", oac_cmd_add, WHERE | FIELDS | OPT_TYPE | OPT_COST, 1,
      "add CLIENT_ID --grant G [--type confidential|public] [--redirect-uri URI]\n"
      "      [--scope S] [--name TEXT] [--access-token-lifetime N] [--refresh-limit N]\n"
      "      [--comment TEXT] [-C COST]",
      "Adds a client. A confidential client (the default) gets a new secret: 32 random\n"
      "bytes, base64url, printed once as 'client_secret: ...'; the registry keeps only\n"
      "its bcrypt hash (cost 5, or -C). Creates the registry file if there is none.\n" },
    { "list", oac_cmd_list, WHERE | OPT_STORE, 0, "list [-s STORE]",
      "Lists the clients: id, type, enabled, grant types, scopes, name; with the store\n"
      "(-s, or OAuthASStoreFile of -f) also the clients that registered themselves\n"
      "(RFC 7591), marked self-registered, with their redirect host.\n" },
    { "show", oac_cmd_show, WHERE, 1, "show CLIENT_ID",
      "Shows one client's settings (never a secret; only which kind of hash is set).\n" },
    { "set", oac_cmd_set, WHERE | FIELDS, 1,
      "set CLIENT_ID [--redirect-uri URI] [--grant G] [--scope S] [--name TEXT]\n"
      "      [--access-token-lifetime N|default] [--refresh-limit N] [--comment TEXT]",
      "Changes a client. A list option (--redirect-uri, --grant, --scope) replaces the\n"
      "whole list; repeat it, or give several values separated by spaces; '' empties\n"
      "it. --access-token-lifetime default removes the client's own lifetime.\n" },
    { "disable", oac_cmd_disable, WHERE, 1, "disable CLIENT_ID",
      "Disables a client: once httpd has reloaded, it is refused everywhere and its\n"
      "tokens introspect as inactive.\n" },
    { "enable", oac_cmd_enable, WHERE, 1, "enable CLIENT_ID", "Enables a client again.\n" },
    { "rotate-secret", oac_cmd_rotate, WHERE | OPT_COST, 1, "rotate-secret CLIENT_ID [-C COST]",
      "Gives a confidential client a new secret, printed once; the old one stops\n"
      "working when httpd reloads. Its tokens stay valid (revoke-tokens ends them).\n" },
    { "remove", oac_cmd_remove, WHERE | OPT_STORE, 1, "remove CLIENT_ID [-s STORE]",
      "Removes a client from the registry (its tokens: revoke-tokens --client). With\n"
      "the store (-s, or -f), a self-registered client (RFC 7591) of that id is removed\n"
      "from the store instead, with its tokens, at once.\n" },
    { "tokens", oac_cmd_tokens, TOKENS | OPT_CLIENT | OPT_USER, 0,
      "tokens [--client CLIENT_ID] [--user NAME]",
      "Lists live tokens and codes in the default store: the digest that is their key\n"
      "in the store (never the token), kind, client, user, scope, expiry (UTC).\n" },
    { "revoke-tokens", oac_cmd_revoke_tokens, TOKENS | OPT_CLIENT | OPT_USER, 0,
      "revoke-tokens --client CLIENT_ID | --user NAME",
      "Revokes every token and code of a client or of a user (with both: of that user\n"
      "at that client), at once, while httpd runs. Disable a client first if it must\n"
      "not get new ones.\n" },
    { "purge", oac_cmd_purge, TOKENS, 0, "purge",
      "Removes expired entries from the store now (httpd does so every 30 seconds).\n" },
    { "keygen", oac_cmd_keygen, 0, 2, "keygen ec|rsa|ed25519 FILE",
      "Makes a signing key for OAuthASSigningKey: EC P-256 (ES256), RSA 3072 bits\n"
      "(RS256) or Ed25519 (EdDSA), PEM, written to FILE with mode 0600; an existing\n"
      "FILE is never overwritten. Prints the key's alg and kid (its thumbprint).\n" },
};
#define N_CMDS (sizeof(CMDS) / sizeof(CMDS[0]))

static const char GLOBAL_HELP[] =
    "Where (any command):\n"
    "  -r, --registry FILE        the client registry (OAuthASClients)\n"
    "  -f, --config FILE          an httpd config file: its OAuthASScope lines define the\n"
    "                             scopes, OAuthASClients / OAuthASStoreFile give -r / -s\n"
    "  -S, --defined-scope NAME   a defined scope (repeat); with -S or -f, client scopes\n"
    "                             must be defined, else only their syntax is checked\n"
    "  -s, --store PATH           the token store (OAuthASStoreFile), token commands\n"
    "  -h, --help                 help (after a command: that command's help)\n";

static const char FIELD_HELP[] =
    "Client fields:\n"
    "  -t, --type T               confidential (default) or public (add only)\n"
    "  -n, --name TEXT            shown on the approval page\n"
    "  -u, --redirect-uri URI     a registered redirect URI (repeat)\n"
    "  -g, --grant G              authorization_code, implicit, client_credentials,\n"
    "                             password (repeat)\n"
    "      --scope S              a scope the client may receive (repeat)\n"
    "      --access-token-lifetime N   seconds, 0 = never expires\n"
    "      --refresh-limit N      0 = no refresh token, -1 = unlimited, N refreshes\n"
    "      --comment TEXT         a note kept in the registry\n"
    "  -C, --cost N               bcrypt cost of the secret's hash (4-17, default 5)\n";

int oac_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("oauth-as-client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return OAC_ERROR;
}

static void usage(FILE *out)
{
    size_t i;

    fputs("Usage: oauth-as-client [-r FILE] [-f CONF] [-S SCOPE]... [-s STORE] COMMAND "
          "[ARGS]\n\nManages the clients (registry JSON) and tokens of mod_oauth_as.\n\n"
          "Commands:\n", out);
    for (i = 0; i < N_CMDS; i++) {
        fprintf(out, "  %s\n", CMDS[i].synopsis);
    }
    fprintf(out, "\n%s\n%s\n'oauth-as-client COMMAND --help' explains a command; "
            "man oauth-as-client has the rest.\nAfter a registry change, reload httpd "
            "(apachectl graceful).\n", GLOBAL_HELP, FIELD_HELP);
}

static void cmd_help(const cmd_t *c)
{
    printf("Usage: oauth-as-client [-r FILE] [-f CONF] [-S SCOPE]... [-s STORE] %s\n\n%s\n",
           c->synopsis, c->help);
    fputs(GLOBAL_HELP, stdout);
    if (c->opts & (FIELDS | OPT_COST)) {
        printf("\n%s", FIELD_HELP);
    }
    if (c->opts & OPT_CLIENT) {
        fputs("\nFilters:\n  --client CLIENT_ID    tokens of this client\n"
              "  --user NAME           tokens of this resource owner\n", stdout);
    }
}

enum { LO_SCOPE = 256, LO_LIFETIME, LO_REFRESH, LO_COMMENT, LO_CLIENT, LO_USER };

static const struct option LONGOPTS[] = {
    { "registry", required_argument, NULL, 'r' },
    { "config", required_argument, NULL, 'f' },
    { "defined-scope", required_argument, NULL, 'S' },
    { "store", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { "type", required_argument, NULL, 't' },
    { "name", required_argument, NULL, 'n' },
    { "redirect-uri", required_argument, NULL, 'u' },
    { "grant", required_argument, NULL, 'g' },
    { "cost", required_argument, NULL, 'C' },
    { "scope", required_argument, NULL, LO_SCOPE },
    { "access-token-lifetime", required_argument, NULL, LO_LIFETIME },
    { "refresh-limit", required_argument, NULL, LO_REFRESH },
    { "comment", required_argument, NULL, LO_COMMENT },
    { "client", required_argument, NULL, LO_CLIENT },
    { "user", required_argument, NULL, LO_USER },
    { NULL, 0, NULL, 0 }
};

/* Append the whitespace-separated words of v ("" adds none) to *plist. */
static void add_words(apr_array_header_t **plist, const char *v, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, v), *w, *last;

    if (*plist == NULL) {
        *plist = apr_array_make(p, 4, sizeof(const char *));
    }
    for (w = apr_strtok(copy, " \t\r\n", &last); w; w = apr_strtok(NULL, " \t\r\n", &last)) {
        APR_ARRAY_PUSH(*plist, const char *) = w;
    }
}

/* One option into o; its OPT_ bit (0: help). */
static unsigned take_option(oac_opts_t *o, int c, const char *v)
{
    switch (c) {
    case 'r': o->registry = v;                          return OPT_REGISTRY;
    case 'f': o->config = v;                            return OPT_CONFIG;
    case 'S': APR_ARRAY_PUSH(o->defined, const char *) = v; return OPT_DEFINED;
    case 's': o->store = v;                             return OPT_STORE;
    case 't': o->type = v;                              return OPT_TYPE;
    case 'n': o->name = v;                              return OPT_NAME;
    case 'u': add_words(&o->redirect_uris, v, o->p);    return OPT_REDIRECT;
    case 'g': add_words(&o->grants, v, o->p);           return OPT_GRANT;
    case 'C': o->cost = atoi(v);                        return OPT_COST;
    case LO_SCOPE: add_words(&o->scopes, v, o->p);      return OPT_SCOPE;
    case LO_LIFETIME: o->lifetime = v;                  return OPT_LIFETIME;
    case LO_REFRESH: o->refresh_limit = v;              return OPT_REFRESH;
    case LO_COMMENT: o->comment = v;                    return OPT_COMMENT;
    case LO_CLIENT: o->client = v;                      return OPT_CLIENT;
    case LO_USER: o->user = v;                          return OPT_USER;
    default: o->help = 1;                               return 0;
    }
}

/* getopt_long over everything (it moves the non-options to the end). */
static int parse_args(oac_opts_t *o, int argc, char **argv)
{
    int c, i;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "r:f:S:s:ht:n:u:g:C:", LONGOPTS, NULL)) != -1) {
        if (c == '?' || c == ':') {
            fprintf(stderr, "oauth-as-client: %s '%s' (see oauth-as-client --help)\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return OAC_USAGE;
        }
        o->given |= take_option(o, c, optarg);
    }
    for (i = optind; i < argc; i++) {
        if (o->cmd == NULL) {
            o->cmd = argv[i];
        }
        else {
            APR_ARRAY_PUSH(o->args, const char *) = argv[i];
        }
    }
    return OAC_OK;
}

static const cmd_t *find_cmd(const char *name)
{
    size_t i;

    for (i = 0; name && i < N_CMDS; i++) {
        if (strcmp(CMDS[i].name, name) == 0) {
            return &CMDS[i];
        }
    }
    return NULL;
}

/* The scopes given with -S (added to those -f found). */
static int defined_scopes(oac_opts_t *o)
{
    const char *err;
    int i;

    if (o->defined->nelts == 0) {
        return OAC_OK;
    }
    if (o->scope_defs == NULL) {
        o->scope_defs = oas_scopes_make(o->p);
    }
    for (i = 0; i < o->defined->nelts; i++) {
        const char *name = APR_ARRAY_IDX(o->defined, i, const char *);
        if (oas_scopes_get(o->scope_defs, name) == NULL
            && (err = oas_scopes_add(o->scope_defs, name, name, NULL, o->p)) != NULL) {
            return oac_fail("-S %s: %s", name, err);
        }
    }
    return OAC_OK;
}

static const char *option_name(unsigned bit)
{
    static const struct { unsigned bit; const char *name; } NAMES[] = {
        { OPT_REGISTRY, "registry" }, { OPT_CONFIG, "config" },
        { OPT_DEFINED, "defined-scope" }, { OPT_STORE, "store" }, { OPT_NAME, "name" },
        { OPT_TYPE, "type" }, { OPT_COMMENT, "comment" }, { OPT_REDIRECT, "redirect-uri" },
        { OPT_GRANT, "grant" }, { OPT_SCOPE, "scope" },
        { OPT_LIFETIME, "access-token-lifetime" }, { OPT_REFRESH, "refresh-limit" },
        { OPT_COST, "cost" }, { OPT_CLIENT, "client" }, { OPT_USER, "user" },
    };
    size_t i;

    for (i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        if (bit & NAMES[i].bit) {
            return NAMES[i].name;
        }
    }
    return "?";
}

static int check_cmd(const cmd_t *c, oac_opts_t *o)
{
    unsigned extra = o->given & ~c->opts;

    if (extra) {
        fprintf(stderr, "oauth-as-client: %s does not take --%s (see oauth-as-client %s "
                "--help)\n", c->name, option_name(extra), c->name);
        return OAC_USAGE;
    }
    if (o->args->nelts != c->nargs) {
        fprintf(stderr, "oauth-as-client: usage: oauth-as-client %s\n", c->synopsis);
        return OAC_USAGE;
    }
    return OAC_OK;
}

static int run(oac_opts_t *o, int argc, char **argv)
{
    const cmd_t *c;
    int rc;

    if ((rc = parse_args(o, argc, argv)) != OAC_OK) {
        return rc;
    }
    if (o->cmd == NULL) {
        usage(o->help ? stdout : stderr);
        return o->help ? OAC_OK : OAC_USAGE;
    }
    if ((c = find_cmd(o->cmd)) == NULL) {
        fprintf(stderr, "oauth-as-client: unknown command '%s' (see oauth-as-client --help)\n",
                o->cmd);
        return OAC_USAGE;
    }
    if (o->help) {
        cmd_help(c);
        return OAC_OK;
    }
    if ((rc = check_cmd(c, o)) != OAC_OK || (rc = oac_read_config(o)) != OAC_OK
        || (rc = defined_scopes(o)) != OAC_OK) {
        return rc;
    }
    return c->fn(o);
}

int main(int argc, char **argv)
{
    oac_opts_t o;
    apr_pool_t *p;
    int rc;

    if (apr_app_initialize(&argc, (const char *const **)&argv, NULL) != APR_SUCCESS
        || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fputs("oauth-as-client: cannot initialise APR\n", stderr);
        return OAC_ERROR;
    }
    memset(&o, 0, sizeof(o));
    o.p = p;
    o.cost = OAC_BCRYPT_COST;
    o.args = apr_array_make(p, 2, sizeof(const char *));
    o.defined = apr_array_make(p, 4, sizeof(const char *));
    rc = run(&o, argc, argv);
    apr_pool_destroy(p);             /* removes temporary files (the store mutex's) */
    apr_terminate();
    return rc;
}
