/* The reference device on a PC: it opens a pseudo-terminal with posix_openpt, links its slave side
 * at --link PATH (the "serial port" a station or `imprint device-test` opens), and runs the
 * protocol there until SIGINT or SIGTERM. OTP and configuration are emulated in files. */
#define _XOPEN_SOURCE 600
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../imprint_device.h"
#include "hal_posix.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: imprint-device --link PATH --serial SN [--mac MAC] [--gtin GTIN] [--model M] [--fw V]\n"
            "                      [--max N] [--otp FILE] [--config FILE] [--program-ms MS] [--allow-reset]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct imprint_device dev; /* static: about 6 KB, no heap */
    struct imprint_device_config cfg = {NULL, NULL, NULL, "imprint-ref", "1.1.0", IMPRINT_LINE_MAX, 0};
    struct hal_posix_settings hal = {-1, "imprint-otp.bin", "imprint-config.bin", 0};
    const char *link = NULL;
    struct termios tio;
    struct sigaction sa;
    int i, master, slave;

    for (i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--allow-reset") == 0) {
            cfg.allow_reset = 1;
            continue;
        }
        if (!val) usage();
        if (strcmp(opt, "--link") == 0) link = val;
        else if (strcmp(opt, "--serial") == 0) cfg.serial = val;
        else if (strcmp(opt, "--mac") == 0) cfg.mac = val;
        else if (strcmp(opt, "--gtin") == 0) cfg.gtin = val;
        else if (strcmp(opt, "--model") == 0) cfg.model = val;
        else if (strcmp(opt, "--fw") == 0) cfg.fw = val;
        else if (strcmp(opt, "--max") == 0) cfg.max = (uint16_t)atoi(val);
        else if (strcmp(opt, "--otp") == 0) hal.otp_file = val;
        else if (strcmp(opt, "--config") == 0) hal.config_file = val;
        else if (strcmp(opt, "--program-ms") == 0) hal.program_ms = (unsigned)atoi(val);
        else usage();
        i++;
    }
    if (!link || !cfg.serial || cfg.max < 128 || cfg.max > IMPRINT_LINE_MAX) usage();

    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        perror("imprint-device: posix_openpt");
        return 1;
    }
    /* Hold the slave open in raw mode: no echo, no CR/LF translation, and no hang-up seen by the
     * master when a station closes the port and opens it again. */
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &tio) != 0) {
        perror("imprint-device: pty slave");
        return 1;
    }
    tio.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tio.c_oflag &= ~(tcflag_t)OPOST;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    tio.c_cflag |= CS8;
    tcsetattr(slave, TCSANOW, &tio);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    unlink(link);
    if (symlink(ptsname(master), link) != 0) {
        perror("imprint-device: symlink");
        return 1;
    }

    hal.uart_fd = master;
    hal_posix_setup(&hal);
    imprint_device_init(&dev, &cfg);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("imprint-device: ready port=%s serial=%s max=%u\n", link, cfg.serial, (unsigned)dev.cfg.max);
    fflush(stdout);

    while (!stopping) { /* the main loop of a bare-metal device, with poll() as its idle */
        struct pollfd p = {0};
        p.fd = master;
        p.events = POLLIN;
        if (poll(&p, 1, 200) > 0) imprint_device_poll(&dev);
    }
    unlink(link);
    close(slave);
    close(master);
    return 0;
}
